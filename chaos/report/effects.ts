// What each fault did, measured: the samples taken while the fault was in effect (from the moment
// it was applied until it was undone, actual times) against the baseline measured in the same run
// before the first fault. A network sample counts only if it started and finished inside the window;
// a cgroup sample covers the interval that ends at its timestamp.
import type { CgroupSample, NetSample } from "../measure/sampler";
import { summarize, Summary } from "../measure/stats";

export interface NetworkEffect {
  upstream: string;
  samples: number;
  errors: number;
  errorRate: number;
  errorKinds: Record<string, number>;
  latencyMs?: Summary;
  /** Measured minus baseline, per percentile. */
  addedLatencyMs?: { p50: number; p90: number; p99: number };
  throughputBps?: Summary;
}

export interface CgroupEffect {
  samples: number;
  cpuCores?: Summary;
  /** The quota in force (last value seen), in cores. */
  quotaCores?: number | null;
  throttledPeriods: number;
  throttledMs: number;
  memoryPeakBytes: number;
  memoryEvents: { high: number; max: number; oom: number; oomKill: number };
  pidsPeak: number;
  pidsMaxEvents: number;
}

export interface Baseline {
  network: Record<string, { samples: number; errors: number; latencyMs?: Summary; throughputBps?: Summary }>;
  cgroup?: { samples: number; cpuCores?: Summary; memoryBytes?: Summary };
}

export function baselineOf(net: NetSample[], cg: CgroupSample[], untilMs: number): Baseline {
  const network: Baseline["network"] = {};
  for (const upstream of new Set(net.map((s) => s.upstream))) {
    const inside = net.filter((s) => s.upstream === upstream && s.t + s.totalMs <= untilMs);
    const ok = inside.filter((s) => s.ok);
    network[upstream] = {
      samples: inside.length,
      errors: inside.length - ok.length,
      latencyMs: summarize(ok.map((s) => s.latencyMs!).filter((x) => x !== undefined)),
      throughputBps: summarize(ok.map((s) => s.throughputBps!).filter((x) => x !== undefined)),
    };
  }
  const cgIn = cg.filter((s) => s.t <= untilMs);
  return {
    network,
    cgroup: cgIn.length ? { samples: cgIn.length, cpuCores: summarize(cgIn.map((s) => s.cpuCores)), memoryBytes: summarize(cgIn.map((s) => s.memoryCurrent)) } : undefined,
  };
}

export function networkEffect(net: NetSample[], upstream: string, fromMs: number, toMs: number, baseline: Baseline): NetworkEffect {
  const inside = net.filter((s) => s.upstream === upstream && s.t >= fromMs && s.t + s.totalMs <= toMs);
  const ok = inside.filter((s) => s.ok);
  const errorKinds: Record<string, number> = {};
  for (const s of inside) if (!s.ok) errorKinds[s.error ?? "other"] = (errorKinds[s.error ?? "other"] ?? 0) + 1;
  const latencyMs = summarize(ok.map((s) => s.latencyMs!).filter((x) => x !== undefined));
  const base = baseline.network[upstream]?.latencyMs;
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    upstream,
    samples: inside.length,
    errors: inside.length - ok.length,
    errorRate: inside.length ? r((inside.length - ok.length) / inside.length) : 0,
    errorKinds,
    latencyMs,
    addedLatencyMs: latencyMs && base ? { p50: r(latencyMs.p50 - base.p50), p90: r(latencyMs.p90 - base.p90), p99: r(latencyMs.p99 - base.p99) } : undefined,
    throughputBps: summarize(ok.map((s) => s.throughputBps!).filter((x) => x !== undefined)),
  };
}

export function cgroupEffect(cg: CgroupSample[], fromMs: number, toMs: number, intervalMs: number): CgroupEffect {
  // A sample at t covers (t - interval, t]: keep those whose interval lies inside the window.
  const inside = cg.filter((s) => s.t - intervalMs >= fromMs - 1 && s.t <= toMs + 1);
  const sum = (f: (s: CgroupSample) => number) => inside.reduce((a, s) => a + f(s), 0);
  return {
    samples: inside.length,
    cpuCores: summarize(inside.map((s) => s.cpuCores)),
    quotaCores: inside.length ? inside[inside.length - 1].quotaCores : undefined,
    throttledPeriods: sum((s) => s.throttledPeriods),
    throttledMs: sum((s) => s.throttledMs),
    memoryPeakBytes: inside.reduce((m, s) => Math.max(m, s.memoryCurrent), 0),
    memoryEvents: { high: sum((s) => s.memoryEvents.high), max: sum((s) => s.memoryEvents.max), oom: sum((s) => s.memoryEvents.oom), oomKill: sum((s) => s.memoryEvents.oomKill) },
    pidsPeak: inside.reduce((m, s) => Math.max(m, s.pidsCurrent), 0),
    pidsMaxEvents: sum((s) => s.pidsMaxEvents),
  };
}
