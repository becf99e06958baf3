// The plan: every window of every action, with its ramp steps and the resource it changes, sorted by
// start. The validator builds it to check overlaps and the maximum duration; the runner executes it;
// the report draws it next to what was measured.
import { SpecIssue, valueAt } from "../../components/spec/issues";
import { formatDurationMs } from "../../components/spec/units";
import { faultDef } from "../experiment/catalogue";
import type { Action } from "../experiment/schema";
import { rampSteps, RampStep } from "./ramp";
import { ScheduleError, windowsOf, WindowContext } from "./windows";

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
  for (const action of actions) {
    let spans;
    try {
      spans = windowsOf(action, ctx);
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
    const steps = rampSteps(action);
    spans.forEach((s, i) => windows.push({ id: `${action.name}#${i + 1}`, action, occurrence: i + 1, startMs: s.startMs, endMs: s.endMs, steps, resource: resourceOf(action) }));
  }
  windows.sort((a, b) => a.startMs - b.startMs || a.action.index - b.action.index);
  const timelineMs = windows.reduce((m, w) => Math.max(m, w.endMs), 0);
  return { plan: { t0: ctx.t0, windows, timelineMs }, issues };
}

/** One issue per pair of windows that change the same resource at the same time (back-to-back is fine). */
export function conflictIssues(windows: PlannedWindow[]): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const reported = new Set<string>();
  const byResource = new Map<string, PlannedWindow[]>();
  for (const w of windows) byResource.set(w.resource, [...(byResource.get(w.resource) ?? []), w]);
  for (const [resource, list] of byResource) {
    const sorted = [...list].sort((a, b) => a.startMs - b.startMs);
    for (let i = 0; i < sorted.length; i++)
      for (let j = i + 1; j < sorted.length && sorted[j].startMs < sorted[i].endMs; j++) {
        const [a, b] = [sorted[i], sorted[j]];
        const later = a.action.index >= b.action.index ? a : b;
        const other = later === a ? b : a;
        const key = [a.action.index, b.action.index].sort().join("/");
        if (reported.has(key)) continue;
        reported.add(key);
        const self = a.action.index === b.action.index;
        // An interval shorter than the window is reported by the validator's schedule rules already.
        if (self && a.action.repeat?.every !== undefined) continue;
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
  }
  return issues;
}
