// Steady-state probes: a timed request through the gate that must complete (with an acceptable
// status) within a bound, or the workload being alive. Run before the first fault (the steady state
// must hold, or nothing is applied), during the timeline (feeding `probe-failed` stop conditions), and
// after the rollback (did the steady state come back?).
import type { Phase, Probe } from "./experiment/schema";
import { clock } from "./measure/clock";
import { timedRequest } from "./measure/requests";
import type { ChaosTarget } from "./target";

export interface ProbeResult {
  /** ms since the run started. */
  t: number;
  probe: string;
  phase: Phase;
  ok: boolean;
  ms?: number;
  detail?: string;
}

export async function runProbe(probe: Probe, target: ChaosTarget, phase: Phase, runStart: number): Promise<ProbeResult> {
  const t = clock() - runStart;
  if (probe.type === "workload-alive") {
    const ok = target.isWorkloadAlive();
    return { t, probe: probe.name, phase, ok, detail: ok ? "alive" : "the workload is not running" };
  }
  const listen = target.gate?.proxies[probe.upstream]?.listen;
  if (!listen) return { t, probe: probe.name, phase, ok: false, detail: `no gate listener for upstream '${probe.upstream}'` };
  // Wait a little longer than `within` so that a slow answer is measured rather than cut off.
  const r = await timedRequest(listen, { kind: probe.kind, path: probe.path, send: probe.send }, probe.within + 1000, probe.expectStatus);
  const ok = r.ok && r.totalMs <= probe.within;
  const detail = !r.ok ? `${r.error}: ${r.detail ?? ""}`.trim() : ok ? `${r.totalMs} ms` : `${r.totalMs} ms > ${probe.within} ms`;
  return { t, probe: probe.name, phase, ok, ms: r.totalMs, detail };
}
