// The cloud-neutral vocabulary of cgroup limits and measurements, shared by both versions.

export type CgroupMode = "v1" | "v2";

export interface CgroupHost {
  mode: CgroupMode;
  /** Mount root, normally /sys/fs/cgroup (tests point it at a v2- or v1-shaped temporary tree). */
  root: string;
  /** v1 on a host that also mounts an (empty) v2 hierarchy at <root>/unified. */
  hybrid: boolean;
}

export type LimitKind = "cpu" | "memory.max" | "memory.high" | "pids.max" | "io";
export const LIMIT_KINDS: readonly LimitKind[] = ["cpu", "memory.max", "memory.high", "pids.max", "io"];

/** CPU bandwidth: quotaUs per periodUs; quotaUs null = unlimited. 20 % of a core = 20000/100000. */
export interface CpuLimit {
  quotaUs: number | null;
  periodUs: number;
}
/** Per-device IO throttle; null = unlimited. */
export interface IoLimit {
  rbps: number | null;
  wbps: number | null;
  riops: number | null;
  wiops: number | null;
}
/** memory.max / memory.high / pids.max: bytes or count; null = unlimited. */
export type ScalarLimit = number | null;
export type LimitValue = CpuLimit | IoLimit | ScalarLimit;

export interface CgroupStats {
  cpuUsageUsec: number;
  nrThrottled: number;
  throttledUsec: number;
  memoryCurrent: number;
  /** v2 memory.events; on v1: max = memory.failcnt, oom_kill from memory.oom_control. */
  memoryEvents: { high: number; max: number; oom: number; oomKill: number };
  pidsCurrent: number;
  /** Times fork() failed because pids.max was hit. */
  pidsMaxEvents: number;
}

/** How socket (TCP buffer) memory is bounded for a cgroup, or why it is not. */
export interface SocketMemoryBound {
  bounded: boolean;
  how: string;
}

/**
 * What differs between cgroup v1 and v2, for one cgroup. `Cgroup` (index.ts) holds everything that is
 * the same and delegates the rest here; each version lives in its own file (v1.ts, v2.ts) and takes
 * its file names from the one table in files.ts.
 */
export interface CgroupVersion {
  /** The cgroup's directory in one v1 hierarchy (default: memory), or its single v2 directory. */
  dir(controller?: string): string;
  /** Every directory the cgroup occupies (one on v2, one per mounted controller on v1). */
  dirs(): string[];
  /** The directory whose cgroup.procs lists the cgroup's processes (v1: the pids hierarchy). */
  processesDir(): string;
  create(): void;
  setFrozen(frozen: boolean): Promise<void>;
  /** One round of killing everything inside (v2 cgroup.kill where present; else freeze, SIGKILL, thaw). */
  killRound(killPids: () => void): Promise<void>;
  /** Undefined when the host supports the kind; else why not. */
  unsupported(kind: LimitKind): string | undefined;
  getLimit(kind: LimitKind, device?: string): LimitValue;
  setLimit(kind: LimitKind, value: LimitValue, device?: string): void;
  limitSocketMemory(bytes: number): SocketMemoryBound;
  socketMemory(): { usage: number; maxUsage: number; failcnt: number } | undefined;
  stats(): CgroupStats;
}
