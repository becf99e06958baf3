// When an action's fault is on: its windows, as offsets (ms) from the start of the timeline.
//   once      [start, start + duration)
//   repeat    every `every` from `start`, or at each tick of a cron expression (UTC) from `start`,
//             as long as the window ends by `until` (default: the end of the timeline horizon)
//   random    `count` windows placed uniformly at random in [from, to) without overlapping each
//             other, from a seeded generator: same seed, same windows.
import { CronExpressionParser } from "cron-parser";
import type { Action } from "../experiment/schema";
import { seededRng } from "./prng";

export interface Window {
  startMs: number;
  endMs: number;
}

export interface WindowContext {
  /** Wall-clock time of the timeline start (cron ticks are wall-clock). */
  t0: Date;
  /** The latest offset any window may end at (maxDuration minus baseline and recovery). */
  horizonMs: number;
  /** The experiment's seed. */
  seed: number;
}

/** A schedule that cannot be built; `field` is relative to the action (e.g. "repeat.cron"). */
export class ScheduleError extends Error {
  constructor(
    public readonly field: string,
    message: string,
    public readonly fix: string,
  ) {
    super(message);
  }
}

/** Throws a ScheduleError when the schedule cannot be built. */
export function windowsOf(action: Pick<Action, "name" | "start" | "duration" | "repeat" | "random">, ctx: WindowContext): Window[] {
  if (action.random) return randomWindows(action, ctx);
  if (action.repeat?.cron) return cronWindows(action, ctx);
  if (action.repeat?.every !== undefined) return intervalWindows(action, ctx);
  return [{ startMs: action.start, endMs: action.start + action.duration }];
}

function intervalWindows(action: Pick<Action, "start" | "duration" | "repeat">, ctx: WindowContext): Window[] {
  const every = action.repeat!.every!;
  if (every <= 0) throw new ScheduleError("repeat.every", "must be longer than 0", "use an interval like 1m");
  const until = action.repeat!.until ?? ctx.horizonMs;
  const out: Window[] = [];
  for (let s = action.start; s + action.duration <= until; s += every) out.push({ startMs: s, endMs: s + action.duration });
  return out;
}

function cronWindows(action: Pick<Action, "start" | "duration" | "repeat">, ctx: WindowContext): Window[] {
  const until = action.repeat!.until ?? ctx.horizonMs;
  const t0 = ctx.t0.getTime();
  const lastStart = t0 + until - action.duration;
  if (lastStart < t0 + action.start) return [];
  // next() returns the first tick strictly after currentDate: start 1 ms early so a tick exactly at
  // `start` counts.
  let expr;
  try {
    expr = CronExpressionParser.parse(action.repeat!.cron!, { currentDate: new Date(t0 + action.start - 1), endDate: new Date(lastStart), tz: "UTC" });
  } catch (e: any) {
    throw new ScheduleError("repeat.cron", `not a cron expression (${e.message})`, "write 5 fields (min hour dom mon dow) or 6 with seconds first, e.g. '*/30 * * * * *' (UTC)");
  }
  const out: Window[] = [];
  while (expr.hasNext() && out.length < 10_000) {
    const startMs = expr.next().getTime() - t0;
    out.push({ startMs, endMs: startMs + action.duration });
  }
  return out;
}

/**
 * Uniform non-overlapping placement without rejection sampling: draw `count` offsets in the free time
 * (span minus the windows' total length), sort them, and put window i at from + offset_i + i * duration.
 */
function randomWindows(action: Pick<Action, "name" | "duration" | "random">, ctx: WindowContext): Window[] {
  const r = action.random!;
  const free = r.to - r.from - r.count * action.duration;
  if (free < 0)
    throw new ScheduleError("random", `cannot place ${r.count} windows of ${action.duration} ms in ${r.to - r.from} ms without overlap`, "widen random.from..random.to, lower random.count or shorten duration");
  const rng = seededRng(r.seed ?? ctx.seed, action.name);
  const offsets = Array.from({ length: r.count }, () => Math.floor(rng() * (free + 1))).sort((a, b) => a - b);
  return offsets.map((o, i) => {
    const startMs = r.from + o + i * action.duration;
    return { startMs, endMs: startMs + action.duration };
  });
}
