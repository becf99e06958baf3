// cgroup v1 (legacy, or hybrid with an empty v2 mount): one hierarchy per controller, so a cgroup is
// a directory in each; the freezer is its own controller; there is no memory.high and no cgroup.kill.
import * as fs from "fs";
import * as path from "path";
import { CORE_FILES, IO_FIELDS, LIMIT_FILES, STAT_FILES, V1_CONTROLLERS, V1_UNSUPPORTED, V1File } from "./files";
import { parseKeyed, read, safe, settle, write } from "./fsutil";
import type { CgroupHost, CgroupStats, CgroupVersion, CpuLimit, IoLimit, LimitKind, LimitValue, SocketMemoryBound } from "./types";

/** Values at or above this are v1's "unlimited" (PAGE_COUNTER_MAX rounded to pages). */
const V1_UNLIMITED = 2 ** 62;

export class CgroupV1 implements CgroupVersion {
  constructor(
    private readonly host: CgroupHost,
    private readonly rel: string,
  ) {}

  dir(controller = "memory"): string {
    return path.join(this.host.root, controller, this.rel);
  }

  dirs(): string[] {
    const mounted = V1_CONTROLLERS.filter((c) => fs.existsSync(path.join(this.host.root, c)));
    return [...new Set(mounted.map((c) => this.dir(c)))];
  }

  processesDir(): string {
    return this.dir("pids");
  }

  private file([controller, name]: V1File): string {
    return path.join(this.dir(controller), name);
  }

  create(): void {
    for (const d of this.dirs()) fs.mkdirSync(d, { recursive: true });
  }

  async setFrozen(frozen: boolean): Promise<void> {
    const f = this.file(CORE_FILES.v1.freezerState);
    if (!fs.existsSync(f)) return;
    const want = frozen ? "FROZEN" : "THAWED";
    write(f, want);
    await settle(() => read(f) === want);
  }

  async killRound(killPids: () => void): Promise<void> {
    await this.setFrozen(true);
    killPids();
    await this.setFrozen(false);
  }

  unsupported(kind: LimitKind): string | undefined {
    const why = V1_UNSUPPORTED[kind];
    if (why) return why;
    const file = this.file(LIMIT_FILES[kind].v1[0]);
    return fs.existsSync(file) ? undefined : `${path.basename(file)} is not available on this host`;
  }

  private limitFiles(kind: LimitKind): string[] {
    return LIMIT_FILES[kind].v1.map((f) => this.file(f));
  }

  getLimit(kind: LimitKind, device?: string): LimitValue {
    const files = this.limitFiles(kind);
    switch (kind) {
      case "cpu": {
        const q = Number(read(files[0]));
        return { quotaUs: q < 0 ? null : q, periodUs: Number(read(files[1])) } satisfies CpuLimit;
      }
      case "memory.max":
      case "memory.high":
      case "pids.max": {
        const v = read(files[0]);
        if (v === "max") return null;
        const n = Number(v);
        return n >= V1_UNLIMITED ? null : n;
      }
      case "io": {
        const none: IoLimit = { rbps: null, wbps: null, riops: null, wiops: null };
        files.forEach((f, i) => {
          const line = read(f).split("\n").find((l) => l.startsWith(device + " "));
          if (line) none[IO_FIELDS[i]] = Number(line.split(/\s+/)[1]) || null;
        });
        return none;
      }
    }
  }

  setLimit(kind: LimitKind, value: LimitValue, device?: string): void {
    const files = this.limitFiles(kind);
    switch (kind) {
      case "cpu":
        return writeCpu(files[0], files[1], value as CpuLimit);
      case "memory.max":
      case "memory.high":
      case "pids.max": {
        const n = value as number | null;
        if (n === null) return write(files[0], kind === "pids.max" ? "max" : "-1");
        return write(files[0], String(Math.round(n)));
      }
      case "io": {
        const io = value as IoLimit;
        files.forEach((file, i) => {
          const v = io[IO_FIELDS[i]];
          write(file, `${device} ${v === null ? 0 : Math.round(v)}`); // 0 removes the throttle
        });
        return;
      }
    }
  }

  /**
   * v1 keeps TCP buffer memory out of memory.limit_in_bytes — it comes from the host-wide TCP pool
   * every process shares — unless memory.kmem.tcp.limit_in_bytes is set, which must happen before
   * the cgroup's first socket (only later sockets are charged).
   */
  limitSocketMemory(bytes: number): SocketMemoryBound {
    const file = this.file(STAT_FILES.v1.tcpLimit);
    if (!fs.existsSync(file)) return { bounded: false, how: "this kernel's cgroup v1 memory controller has no memory.kmem.tcp.limit_in_bytes" };
    write(file, String(Math.round(bytes)));
    return { bounded: true, how: `memory.kmem.tcp.limit_in_bytes = ${Math.round(bytes)}` };
  }

  socketMemory(): { usage: number; maxUsage: number; failcnt: number } | undefined {
    const n = (name: "usage_in_bytes" | "max_usage_in_bytes" | "failcnt") => Number(read(this.file(STAT_FILES.v1.tcp(name))));
    return safe(() => ({ usage: n("usage_in_bytes"), maxUsage: n("max_usage_in_bytes"), failcnt: n("failcnt") }), undefined);
  }

  stats(): CgroupStats {
    const f = STAT_FILES.v1;
    const num = (file: V1File) => safe(() => Number(read(this.file(file))), 0);
    const cpu = safe(() => parseKeyed(read(this.file(f.cpu))), {} as Record<string, number>);
    const oom = safe(() => parseKeyed(read(this.file(f.memoryOomControl))), {} as Record<string, number>);
    const pev = safe(() => parseKeyed(read(this.file(f.pidsEvents))), {} as Record<string, number>);
    return {
      cpuUsageUsec: num(f.cpuUsageNs) / 1000,
      nrThrottled: cpu.nr_throttled ?? 0,
      throttledUsec: (cpu.throttled_time ?? 0) / 1000,
      memoryCurrent: num(f.memoryUsage),
      memoryEvents: { high: 0, max: num(f.memoryFailcnt), oom: oom.oom_kill ?? 0, oomKill: oom.oom_kill ?? 0 },
      pidsCurrent: num(f.pidsCurrent),
      pidsMaxEvents: pev.max ?? 0,
    };
  }
}

/**
 * The v1 CPU limit is two files, so a change passes through one intermediate state. The order is
 * chosen so that this state is never a wider limit (more CPU per period) than both the old and the
 * new one — and so a failure between the writes never leaves the cgroup with more CPU than it had
 * or was meant to get (lifting the quota to -1 first would mean, for a moment, no limit at all):
 *   to unlimited:            quota -1 first (that is the new value), then the period;
 *   from unlimited:          quota first where the period shrinks or stays (new quota over the old,
 *                            longer period: narrower than the new), else the period first (still
 *                            unlimited: the old value), then the quota;
 *   period grows or stays:   period first — old quota over a longer period: narrower than the old;
 *   period shrinks:          quota first — new quota over the old, longer period: narrower than the new.
 * Every intermediate is then at most max(old, new), which also keeps it within a limited parent's
 * bandwidth wherever the old and new values are (v1 refuses a child wider than its parent: EINVAL).
 * Unchanged files are not written.
 */
export function v1CpuWriteOrder(old: CpuLimit, next: CpuLimit): ("quota" | "period")[] {
  const quotaChanges = old.quotaUs !== next.quotaUs;
  const periodChanges = old.periodUs !== next.periodUs;
  if (!quotaChanges && !periodChanges) return [];
  if (!periodChanges) return ["quota"];
  if (!quotaChanges) return ["period"]; // one write: no intermediate state
  const quotaFirst = next.quotaUs === null ? true : old.quotaUs === null ? next.periodUs <= old.periodUs : next.periodUs < old.periodUs;
  return quotaFirst ? ["quota", "period"] : ["period", "quota"];
}

function writeCpu(quotaFile: string, periodFile: string, next: CpuLimit): void {
  const q = Number(read(quotaFile));
  const old: CpuLimit = { quotaUs: q < 0 ? null : q, periodUs: Number(read(periodFile)) };
  const want = { quotaUs: next.quotaUs === null ? null : Math.round(next.quotaUs), periodUs: Math.round(next.periodUs) };
  for (const step of v1CpuWriteOrder(old, want)) {
    if (step === "quota") write(quotaFile, want.quotaUs === null ? "-1" : String(want.quotaUs));
    else write(periodFile, String(want.periodUs));
  }
}
