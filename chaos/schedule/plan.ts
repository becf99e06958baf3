// The plan: every window of every action, with its ramp steps and the resource it changes, sorted by
// start. The validator builds it to check overlaps and the maximum duration; the runner executes it;
// the report draws it next to what was measured.
import { SpecIssue, valueAt } from "../../components/spec/issues";
import { formatDurationMs } from "../../components/spec/units";
import { faultDef } from "../experiment/catalogue";
import type { Action } from "../experiment/schema";
import { rampSteps, RampStep } from "./ramp";
import { MAX_WINDOWS_PER_ACTION, ScheduleError, windowsOf, WindowContext } from "./windows";

/** Bounds of a whole plan, checked before anything is expanded further (see windows.ts). */
export const MAX_PLAN_WINDOWS = 10_000;
/** Window starts, ramp steps and stops the runner would schedule. */
export const MAX_TIMELINE_EVENTS = 100_000;
/** Overlap issues listed one by one; beyond this, one issue says how many more pairs there are. */
export const MAX_CONFLICT_ISSUES = 50;

export interface PlannedWindow {
  /** `<action name>#<occurrence>`, unique in the plan. */
  id: string;
  action: Action;
  occurrence: number;
  startMs: number;
  endMs: number;
  steps: RampStep[];
  /** What the fault changes; two overlapping windows on one resource conflict. */
  resource: string;
}

export interface Plan {
  t0: Date;
  windows: PlannedWindow[];
  /** End of the last window (offset from the timeline start). */
  timelineMs: number;
}

/**
 * The resource an action changes. Two toxics of one type on one stream of one proxy would stack (two
 * latency toxics add up), so they conflict; a packet-loss action that may run as tc netem owns the
 * root qdisc of that direction's interface, whatever upstream it names.
 */
export function resourceOf(action: Action): string {
  const def = faultDef(action.fault);
  if (def.category === "cgroup") return action.fault === "io" ? `cgroup io on device ${action.params.device}` : `cgroup ${def.limit}`;
  if (action.fault === "down") return `gate proxy '${action.upstream}' (enabled)`;
  if (action.fault === "packet-loss") {
    const m = action.packetLoss?.mechanism ?? action.params.mechanism;
    if (m === "netem" || m === "auto") return `packet loss on the ${action.stream} interface (tc netem)`;
    return `packet loss on gate proxy '${action.upstream}' ${action.stream}`;
  }
  return `${def.toxic} toxic on gate proxy '${action.upstream}' ${action.stream}`;
}

/** Expands every action into windows. Schedule errors (e.g. random windows that cannot fit) become issues. */
export function buildPlan(actions: Action[], ctx: WindowContext): { plan: Plan; issues: SpecIssue[] } {
  const windows: PlannedWindow[] = [];
  const issues: SpecIssue[] = [];
  let events = 0;
  for (const [k, action] of actions.entries()) {
    // The plan's budget bounds each expansion: once it is spent, no further action is expanded at all.
    const maxWindows = Math.min(MAX_WINDOWS_PER_ACTION, MAX_PLAN_WINDOWS - windows.length);
    if (maxWindows <= 0) {
      issues.push({
        path: `actions[${action.index}]`,
        value: `${actions.length - k} more actions`,
        message: `the plan already has ${MAX_PLAN_WINDOWS} fault windows, the most one experiment may have: this action and the ${actions.length - k - 1} after it were not planned`,
        fix: "repeat less often, or split the experiment into several",
      });
      break;
    }
    let spans;
    try {
      spans = windowsOf(action, { ...ctx, maxWindows });
    } catch (e) {
      if (!(e instanceof ScheduleError)) throw e;
      issues.push({ path: `actions[${action.index}].${e.field}`, value: valueAt(action, e.field.split(".")), message: e.message, fix: e.fix });
      continue;
    }
    if (spans.length === 0)
      issues.push({
        path: `actions[${action.index}].repeat`,
        value: action.repeat,
        message: "the schedule produces no window before the experiment ends",
        fix: "start it earlier, shorten duration, or raise repeat.until / maxDuration",
      });
    // Counted before the windows join the plan: the runner would schedule every one of these events.
    const perWindow = 2 + (action.ramp ? Math.max(0, action.ramp.steps - 1) : 0);
    if (events + spans.length * perWindow > MAX_TIMELINE_EVENTS) {
      issues.push({ path: `actions[${action.index}].ramp.steps`, value: action.ramp?.steps, message: `${spans.length} windows of ${perWindow} timeline events each would take the experiment past ${MAX_TIMELINE_EVENTS} events`, fix: "use fewer ramp steps or fewer windows" });
      continue;
    }
    events += spans.length * perWindow;
    const steps = rampSteps(action);
    const resource = resourceOf(action);
    spans.forEach((s, i) => windows.push({ id: `${action.name}#${i + 1}`, action, occurrence: i + 1, startMs: s.startMs, endMs: s.endMs, steps, resource }));
  }
  windows.sort((a, b) => a.startMs - b.startMs || a.action.index - b.action.index);
  const timelineMs = windows.reduce((m, w) => Math.max(m, w.endMs), 0);
  return { plan: { t0: ctx.t0, windows, timelineMs }, issues };
}

/**
 * One issue per pair of actions whose windows change the same resource at the same time (back-to-back
 * is fine); at most MAX_CONFLICT_ISSUES are listed, then one issue says there are more.
 *
 * A sweep over each resource's windows in start order, keeping per action only its window that ends
 * last among those still running: linear in the windows times the actions running at once, never in
 * the pairs of windows (10 000 windows of one action all overlapping would otherwise be 50 million).
 */
export function conflictIssues(windows: PlannedWindow[]): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const reported = new Set<number>();
  const byResource = new Map<string, PlannedWindow[]>();
  for (const w of windows) {
    const list = byResource.get(w.resource);
    if (list) list.push(w);
    else byResource.set(w.resource, [w]);
  }
  for (const [resource, list] of byResource) {
    const sorted = [...list].sort((a, b) => a.startMs - b.startMs);
    const running = new Map<number, PlannedWindow>();
    for (const b of sorted) {
      for (const [index, a] of running) {
        if (a.endMs <= b.startMs) {
          running.delete(index);
          continue;
        }
        const self = a.action.index === b.action.index;
        // An interval shorter than the window is reported by the validator's schedule rules already.
        if (self && a.action.repeat?.every !== undefined) continue;
        const key = Math.min(a.action.index, b.action.index) * 2 ** 26 + Math.max(a.action.index, b.action.index);
        if (reported.has(key)) continue;
        reported.add(key);
        if (issues.length >= MAX_CONFLICT_ISSUES) {
          // Enough to act on; looking further could take as long as there are pairs.
          issues.push({ path: "actions", value: `more than ${MAX_CONFLICT_ISSUES} overlapping pairs`, message: `more pairs of actions overlap on the same resource than the ${MAX_CONFLICT_ISSUES} listed`, fix: "fix the overlaps listed, then validate again" });
          return issues;
        }
        const later = a.action.index >= b.action.index ? a : b;
        const other = later === a ? b : a;
        issues.push({
          path: `actions[${later.action.index}]`,
          value: `${formatDurationMs(later.startMs)}..${formatDurationMs(later.endMs)}`,
          message: self
            ? `its windows overlap each other on the same ${resource} (window ${a.occurrence} ${formatDurationMs(a.startMs)}..${formatDurationMs(a.endMs)} and window ${b.occurrence} starting at ${formatDurationMs(b.startMs)})`
            : `overlaps action '${other.action.name}' (actions[${other.action.index}], ${formatDurationMs(other.startMs)}..${formatDurationMs(other.endMs)}) on the same ${resource}; the two would fight over one setting and the undo order would be ambiguous`,
          fix: self
            ? "make repeat.every at least as long as duration, or shorten duration"
            : "move one of them (start) so they do not overlap, merge them into one action with a ramp, or target different upstreams/streams",
        });
      }
      const mine = running.get(b.action.index);
      if (!mine || b.endMs > mine.endMs) running.set(b.action.index, b);
    }
  }
  return issues;
}
