// When an action's fault is on: its windows, as offsets (ms) from the start of the timeline.
//   once      [start, start + duration)
//   repeat    every `every` from `start`, or at each tick of a cron expression (UTC) from `start`,
//             as long as the window ends by `until` (default: the end of the timeline horizon)
//   random    `count` windows placed uniformly at random in [from, to) without overlapping each
//             other, from a seeded generator: same seed, same windows.
//
// Every expansion is bounded *before* it is expanded: a schedule whose windows would run past the
// horizon (maxDuration minus baseline and recovery), or that would make more than MAX_WINDOWS_PER_ACTION
// windows, is refused from arithmetic (interval, random) or from at most that many cron ticks, so that
// `repeat: { every: 4m, until: 99999h }` is an error in microseconds, not a loop over a million windows.
import { CronExpressionParser } from "cron-parser";
import { MAX_DURATION_CAP_MS, type Action } from "../experiment/schema";
import { formatDurationMs } from "../../components/spec/units";
import { seededRng } from "./prng";

/** No action expands into more windows than this (2h of 1 s windows back to back is 7200). */
export const MAX_WINDOWS_PER_ACTION = 10_000;

export interface Window {
  startMs: number;
  endMs: number;
}

export interface WindowContext {
  /** Wall-clock time of the timeline start (cron ticks are wall-clock). */
  t0: Date;
  /** The latest offset any window may end at (maxDuration minus baseline and recovery). */
  horizonMs: number;
  /** The experiment's maxDuration, for the messages (default: not named). */
  maxDurationMs?: number;
  /** At most this many windows for this action (default MAX_WINDOWS_PER_ACTION; the plan passes what is left of its own budget). */
  maxWindows?: number;
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
  if (limitOf(ctx) < 1) throw new ScheduleError("start", tooMany(1, ctx), "remove an action, or repeat others less often");
  return [{ startMs: action.start, endMs: action.start + action.duration }];
}

/** "the experiment would be longer than maxDuration 15m: every window must end by 14m54s (...)". */
function pastHorizon(ctx: WindowContext, endMs: number): string {
  const max = ctx.maxDurationMs === undefined ? "maxDuration" : `maxDuration ${formatDurationMs(ctx.maxDurationMs)}`;
  return `a window would end at ${formatDurationMs(endMs)}, but the timeline ends at ${formatDurationMs(ctx.horizonMs)} (${max} minus baseline and recovery): the experiment would be longer than maxDuration`;
}

function limitOf(ctx: WindowContext): number {
  return Math.min(ctx.maxWindows ?? MAX_WINDOWS_PER_ACTION, MAX_WINDOWS_PER_ACTION);
}

function tooMany(n: number | string, ctx: WindowContext): string {
  const limit = limitOf(ctx);
  return limit < MAX_WINDOWS_PER_ACTION
    ? `the schedule makes ${n} windows, more than the ${limit} left for it in the experiment (the other actions have the rest of the plan's fault windows)`
    : `the schedule makes ${n} windows, more than the ${MAX_WINDOWS_PER_ACTION} one action may have`;
}

function intervalWindows(action: Pick<Action, "start" | "duration" | "repeat">, ctx: WindowContext): Window[] {
  const every = action.repeat!.every!;
  if (!(every > 0)) throw new ScheduleError("repeat.every", "must be longer than 0", "use an interval like 1m");
  const until = action.repeat!.until ?? ctx.horizonMs;
  const firstEnd = action.start + action.duration;
  if (!(firstEnd <= until)) return [];
  // Counted, not looped: n windows start at start + i * every, the last one ending by `until`.
  const n = Math.floor((until - firstEnd) / every) + 1;
  const lastEnd = action.start + (n - 1) * every + action.duration;
  if (lastEnd > ctx.horizonMs)
    throw new ScheduleError("repeat.until", pastHorizon(ctx, lastEnd), `set repeat.until to at most ${formatDurationMs(ctx.horizonMs)} (or leave it out: repeats then run to the end of the timeline), or raise maxDuration (at most ${formatDurationMs(MAX_DURATION_CAP_MS)})`);
  if (n > limitOf(ctx)) throw new ScheduleError("repeat.every", tooMany(n, ctx), "use a longer repeat.every or an earlier repeat.until");
  return Array.from({ length: n }, (_, i) => ({ startMs: action.start + i * every, endMs: action.start + i * every + action.duration }));
}

function cronWindows(action: Pick<Action, "start" | "duration" | "repeat">, ctx: WindowContext): Window[] {
  const until = action.repeat!.until ?? ctx.horizonMs;
  const t0 = ctx.t0.getTime();
  const lastStart = t0 + until - action.duration;
  if (lastStart < t0 + action.start) return [];
  // next() returns the first tick strictly after currentDate: start 1 ms early so a tick exactly at
  // `start` counts. The ticks are walked one by one, so the walk itself is bounded: it stops at the
  // first tick whose window would end after the horizon (an error) or after MAX_WINDOWS_PER_ACTION.
  let expr;
  try {
    expr = CronExpressionParser.parse(action.repeat!.cron!, { currentDate: new Date(t0 + action.start - 1), endDate: new Date(lastStart), tz: "UTC" });
  } catch (e: any) {
    throw new ScheduleError("repeat.cron", `not a cron expression (${e.message})`, "write 5 fields (min hour dom mon dow) or 6 with seconds first, e.g. '*/30 * * * * *' (UTC)");
  }
  const out: Window[] = [];
  for (;;) {
    let tick: number;
    try {
      if (!expr.hasNext()) break;
      tick = expr.next().getTime();
    } catch (e: any) {
      // cron-parser gives up on expressions that match (almost) never, e.g. '0 0 31 2 *'.
      throw new ScheduleError("repeat.cron", `the cron expression has no usable tick (${e.message})`, "use an expression that ticks within the experiment, e.g. '*/30 * * * * *' (UTC)");
    }
    const startMs = tick - t0;
    if (startMs + action.duration > ctx.horizonMs)
      throw new ScheduleError("repeat.until", pastHorizon(ctx, startMs + action.duration), `set repeat.until to at most ${formatDurationMs(ctx.horizonMs)} (or leave it out), or raise maxDuration (at most ${formatDurationMs(MAX_DURATION_CAP_MS)})`);
    if (out.length >= limitOf(ctx)) throw new ScheduleError("repeat.cron", tooMany(`more than ${limitOf(ctx)}`, ctx), "use a cron expression that ticks less often, or an earlier repeat.until");
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
  if (r.count > limitOf(ctx)) throw new ScheduleError("random.count", tooMany(r.count, ctx), "lower random.count");
  if (r.to > ctx.horizonMs)
    throw new ScheduleError("random.to", pastHorizon(ctx, r.to), `set random.to to at most ${formatDurationMs(ctx.horizonMs)}, or raise maxDuration (at most ${formatDurationMs(MAX_DURATION_CAP_MS)})`);
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
