// The runner's measurements, taken all along the run (baseline, faults, recovery) so that each
// fault's effect can be read against the baseline measured in the same run:
//   network: timed requests through each measured gate listener (latency, totals, errors, throughput);
//   cgroup:  CPU used vs the quota in force, throttling, memory use and pressure events, pids.
import type { Cgroup, CgroupStats, CpuLimit } from "../../components/host/cgroup";
import { clock } from "./clock";
import { Periodic } from "./loop";
import { RequestSpec, timedRequest, TimedRequest } from "./requests";

export interface NetSample extends Omit<TimedRequest, "startedAt"> {
  /** ms since the run started. */
  t: number;
  upstream: string;
}

export interface CgroupSample {
  t: number;
  /** CPU used over the interval, in cores (1 = one core busy). */
  cpuCores: number;
  /** The quota in force, in cores; null = unlimited. */
  quotaCores: number | null;
  throttledPeriods: number;
  throttledMs: number;
  memoryCurrent: number;
  memoryMax: number | null;
  /** Memory events in the interval (v2 memory.events; v1: max = failcnt, oomKill from oom_control). */
  memoryEvents: CgroupStats["memoryEvents"];
  pidsCurrent: number;
  pidsMaxEvents: number;
}

export interface MeasuredRequest extends RequestSpec {
  upstream: string;
  listen: string;
}

export class NetworkSampler {
  readonly samples: NetSample[] = [];
  private readonly loops: Periodic[];

  constructor(requests: MeasuredRequest[], intervalMs: number, timeoutMs: number, runStart: number) {
    this.loops = requests.map(
      (r) =>
        new Periodic(intervalMs, async () => {
          const res = await timedRequest(r.listen, r, timeoutMs);
          const { startedAt, ...rest } = res;
          this.samples.push({ t: startedAt - runStart, upstream: r.upstream, ...rest });
        }),
    );
  }

  start(): this {
    this.loops.forEach((l) => l.start());
    return this;
  }

  stop(): Promise<void> {
    return Promise.all(this.loops.map((l) => l.stop())).then(() => undefined);
  }
}

export class CgroupSampler {
  readonly samples: CgroupSample[] = [];
  private readonly loop: Periodic;
  private prev: { at: number; stats: CgroupStats } | undefined;

  constructor(
    private readonly cg: Cgroup,
    intervalMs: number,
    private readonly runStart: number,
  ) {
    this.loop = new Periodic(intervalMs, () => this.take());
  }

  private take(): void {
    if (!this.cg.exists()) return;
    const at = clock();
    const prev = this.prev;
    // Too short an interval says nothing about CPU use (and the first call only sets the origin).
    if (prev && at - prev.at < 50) return;
    const stats = this.cg.stats();
    this.prev = { at, stats };
    if (!prev) return;
    const dt = (at - prev.at) / 1000;
    const cpu = this.safe(() => this.cg.getLimit("cpu") as CpuLimit, { quotaUs: null, periodUs: 100000 });
    const d = (k: keyof CgroupStats["memoryEvents"]) => stats.memoryEvents[k] - prev.stats.memoryEvents[k];
    this.samples.push({
      t: at - this.runStart,
      cpuCores: Math.round(((stats.cpuUsageUsec - prev.stats.cpuUsageUsec) / 1e6 / dt) * 1000) / 1000,
      quotaCores: cpu.quotaUs === null ? null : cpu.quotaUs / cpu.periodUs,
      throttledPeriods: stats.nrThrottled - prev.stats.nrThrottled,
      throttledMs: Math.round((stats.throttledUsec - prev.stats.throttledUsec) / 1000),
      memoryCurrent: stats.memoryCurrent,
      memoryMax: this.safe(() => this.cg.getLimit("memory.max") as number | null, null),
      memoryEvents: { high: d("high"), max: d("max"), oom: d("oom"), oomKill: d("oomKill") },
      pidsCurrent: stats.pidsCurrent,
      pidsMaxEvents: stats.pidsMaxEvents - prev.stats.pidsMaxEvents,
    });
  }

  private safe<T>(fn: () => T, fallback: T): T {
    try {
      return fn();
    } catch {
      return fallback;
    }
  }

  start(): this {
    this.loop.start();
    return this;
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    this.take();
  }
}
