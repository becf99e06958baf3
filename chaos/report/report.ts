// The chaos report: what was planned, what was applied when (and how: which mechanism), what it did
// (measured against the baseline of the same run), what the probes saw, why the run stopped, and
// whether the rollback was complete and read back. JSON for tools; html.ts draws the same data.
import type { FaultName } from "../experiment/catalogue";
import type { Params } from "../experiment/schema";
import type { CgroupSample, NetSample } from "../measure/sampler";
import type { ProbeResult } from "../probes";
import type { RollbackResult } from "../rollback";
import { Baseline, baselineOf, CgroupEffect, cgroupEffect, NetworkEffect, networkEffect } from "./effects";
import { faultDef } from "../experiment/catalogue";

export const REPORT_SCHEMA = "airlock.chaos.report/v1";

export type RunStatus = "completed" | "aborted" | "interrupted" | "steady-state-not-met" | "error";

export interface AbortReason {
  kind: "stop-condition" | "signal" | "max-duration" | "steady-state" | "error";
  detail: string;
  /** ms since the run started. */
  atMs: number;
}

export interface StepRun {
  index: number;
  plannedAtMs: number;
  appliedAtMs?: number;
  /** appliedAt - plannedAt: scheduled tick to the change being in effect (admin call / write returned). */
  lagMs?: number;
  params: Params;
  /** Measured while this step was in force (ramps). */
  latencyP50Ms?: number;
  cpuCoresMean?: number;
}

export interface WindowRun {
  id: string;
  action: string;
  fault: FaultName;
  upstream?: string;
  stream?: string;
  resource: string;
  mechanism?: string;
  /** Why this mechanism (packet loss: what auto passed over and why). */
  mechanismReason?: string;
  plannedStartMs: number;
  plannedEndMs: number;
  appliedAtMs?: number;
  tickToEffectMs?: number;
  removedAtMs?: number;
  /** Time the undo of this window took. */
  rollbackMs?: number;
  status: "not-started" | "applied" | "undone" | "failed";
  error?: string;
  /** A caveat about what the measurements can show for this window. */
  note?: string;
  steps: StepRun[];
  effect?: { network?: NetworkEffect; cgroup?: CgroupEffect };
}

export interface ChaosReport {
  schema: typeof REPORT_SCHEMA;
  runId: string;
  sandbox: string;
  experiment: { name: string; description?: string; file: string; sha256: string; seed: number; maxDurationMs: number };
  startedAt: string;
  endedAt: string;
  status: RunStatus;
  aborted: boolean;
  abortReason?: AbortReason;
  error?: string;
  host: { cgroupMode?: string; cgroupHybrid?: boolean; packetLoss?: unknown };
  phases: { baselineMs: number; timelineStartMs: number; timelineEndMs: number; endMs: number };
  measure: { intervalMs: number };
  /** Leftovers of earlier, dead runs that were undone before this one started. */
  recoveredBeforeStart: { owner: string; action: string; steps: number }[];
  windows: WindowRun[];
  baseline: Baseline;
  probes: ProbeResult[];
  steadyState: { before: boolean | null; after: boolean | null };
  rollback: RollbackResult;
  samples: { network: NetSample[]; cgroup: CgroupSample[] };
  summary: string;
  files?: { json: string; html: string };
}

/** Fills in each window's measured effect (and each ramp step's) from the samples. */
export function computeEffects(report: ChaosReport): void {
  const { network, cgroup } = report.samples;
  report.baseline = baselineOf(network, cgroup, report.phases.timelineStartMs);
  const interval = report.measure.intervalMs;
  for (const w of report.windows) {
    if (w.appliedAtMs === undefined) continue;
    const end = w.removedAtMs ?? report.phases.endMs;
    if (faultDef(w.fault).category === "network") w.effect = { network: networkEffect(network, w.upstream!, w.appliedAtMs, end, report.baseline) };
    else w.effect = { cgroup: cgroupEffect(cgroup, w.appliedAtMs, end, interval) };
    w.steps.forEach((s, i) => {
      if (s.appliedAtMs === undefined || w.steps.length < 2) return;
      const next = w.steps.slice(i + 1).find((x) => x.appliedAtMs !== undefined)?.appliedAtMs ?? end;
      if (w.effect!.network) s.latencyP50Ms = networkEffect(network, w.upstream!, s.appliedAtMs, next, report.baseline).latencyMs?.p50;
      else s.cpuCoresMean = cgroupEffect(cgroup, s.appliedAtMs, next, interval).cpuCores?.mean;
    });
  }
}

/** One paragraph a researcher reads first. */
export function summarizeReport(r: ChaosReport): string {
  const applied = r.windows.filter((w) => w.appliedAtMs !== undefined).length;
  const head =
    r.status === "completed"
      ? "completed"
      : `${r.status}${r.abortReason ? ` (${r.abortReason.kind}: ${r.abortReason.detail} at ${(r.abortReason.atMs / 1000).toFixed(1)}s)` : ""}${r.error ? `: ${r.error}` : ""}`;
  const rb = r.rollback;
  const rollback = rb.complete
    ? `rollback complete${rb.verified ? " and verified (old values read back)" : ` but NOT verified: ${rb.problems.join("; ")}`} in ${Math.round(rb.ms)} ms`
    : `ROLLBACK INCOMPLETE: ${rb.problems.join("; ")}`;
  const effects = r.windows
    .filter((w) => w.effect)
    .slice(0, 6)
    .map((w) => {
      const n = w.effect!.network;
      const c = w.effect!.cgroup;
      if (n) {
        const lat = n.addedLatencyMs ? `latency ${n.addedLatencyMs.p50 >= 0 ? "+" : ""}${n.addedLatencyMs.p50} ms p50` : "no answers";
        return `${w.id}: ${lat}, ${Math.round(n.errorRate * 100)}% errors (${n.samples} requests)`;
      }
      if (c) {
        const cpu = c.cpuCores ? `CPU ${c.cpuCores.mean} cores${c.quotaCores ? ` (quota ${c.quotaCores})` : ""}` : "";
        const mem = c.memoryEvents.max || c.memoryEvents.high || c.memoryEvents.oomKill ? `, memory events max ${c.memoryEvents.max} high ${c.memoryEvents.high} oom-kill ${c.memoryEvents.oomKill}` : "";
        const pids = c.pidsMaxEvents ? `, ${c.pidsMaxEvents} forks refused` : "";
        return `${w.id}: ${cpu}${c.throttledPeriods ? `, throttled ${c.throttledPeriods} periods` : ""}${mem}${pids}`.replace(/^: /, "");
      }
      return w.id;
    });
  const loss = r.windows.filter((w) => w.fault === "packet-loss" && w.mechanism);
  const lossText = loss.length ? ` Packet loss ran as: ${[...new Set(loss.map((w) => `${w.mechanism} [${w.mechanismReason}]`))].join("; ")}.` : "";
  return `${head}: ${applied}/${r.windows.length} fault windows applied; ${rollback}.${effects.length ? ` Effects: ${effects.join("; ")}.` : ""}${lossText}`;
}

/** The summary that goes into the sandbox record (the samples stay in the report file). */
export function recordSummary(r: ChaosReport): unknown {
  return {
    runId: r.runId,
    experiment: r.experiment,
    status: r.status,
    aborted: r.aborted,
    abortReason: r.abortReason,
    error: r.error,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    windows: r.windows.map((w) => ({
      id: w.id,
      fault: w.fault,
      upstream: w.upstream,
      mechanism: w.mechanism,
      plannedStartMs: w.plannedStartMs,
      plannedEndMs: w.plannedEndMs,
      appliedAtMs: w.appliedAtMs,
      removedAtMs: w.removedAtMs,
      status: w.status,
    })),
    steadyState: r.steadyState,
    rollback: { complete: r.rollback.complete, verified: r.rollback.verified, problems: r.rollback.problems, ms: r.rollback.ms },
    summary: r.summary,
    files: r.files,
  };
}
