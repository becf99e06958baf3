// Ramps: a fault whose parameters move from `from` to `to` in equal steps, e.g. latency 50 -> 500 ms
// over 2 min in 10 steps: step i (0..n-1) starts at i * over / n and has the value
// from + (to - from) * i / (n - 1), so the first step is exactly `from`, the last exactly `to`, and
// the last value is held until the window ends.
import { faultDef } from "../experiment/catalogue";
import { roundParam } from "../experiment/fields";
import type { Action, Params } from "../experiment/schema";

export interface RampStep {
  /** Offset from the window start. */
  atMs: number;
  params: Params;
}

export function rampSteps(action: Pick<Action, "fault" | "params" | "ramp" | "duration">): RampStep[] {
  const ramp = action.ramp;
  if (!ramp) return [{ atMs: 0, params: { ...action.params } }];
  const over = Math.min(ramp.over ?? action.duration, action.duration);
  const n = ramp.steps;
  const defs = faultDef(action.fault).params;
  const steps: RampStep[] = [];
  for (let i = 0; i < n; i++) {
    const params: Params = { ...action.params };
    for (const key of Object.keys(ramp.from)) {
      const from = ramp.from[key] as number;
      const to = ramp.to[key] as number;
      params[key] = roundParam(defs[key].kind!, from + ((to - from) * i) / (n - 1));
    }
    steps.push({ atMs: Math.round((i * over) / n), params });
  }
  return steps;
}
