// The plan as a sequence of timed events for the runner: start a window (first ramp step), move it to
// its next ramp step, stop it. At the same instant, stops come first, so that back-to-back windows on
// one resource never overlap, then starts, then steps.
import type { PlannedWindow } from "./plan";

export interface TimelineEvent {
  /** Offset from the timeline start. */
  atMs: number;
  kind: "start" | "step" | "stop";
  window: PlannedWindow;
  /** Ramp step index (0 for start). */
  step: number;
}

const ORDER = { stop: 0, start: 1, step: 2 } as const;

export function timelineEvents(windows: PlannedWindow[]): TimelineEvent[] {
  const events: TimelineEvent[] = [];
  for (const w of windows) {
    events.push({ atMs: w.startMs, kind: "start", window: w, step: 0 });
    w.steps.forEach((s, i) => {
      if (i > 0 && w.startMs + s.atMs < w.endMs) events.push({ atMs: w.startMs + s.atMs, kind: "step", window: w, step: i });
    });
    events.push({ atMs: w.endMs, kind: "stop", window: w, step: -1 });
  }
  return events.sort((a, b) => a.atMs - b.atMs || ORDER[a.kind] - ORDER[b.kind] || a.window.action.index - b.window.action.index);
}
