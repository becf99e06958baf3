// The one table of cgroup file names: which kernel file holds each limit and measurement, per version.
// v1.ts and v2.ts read only from here, so a reader comparing the two versions compares two columns.
//
//   cpu         v2 cpu.max "quota period"          v1 cpu/cpu.cfs_quota_us + cpu/cpu.cfs_period_us
//   memory.max  v2 memory.max                       v1 memory/memory.limit_in_bytes
//   memory.high v2 memory.high (throttles, no OOM)  v1 — none (reported as unsupported)
//   pids.max    v2 pids.max                         v1 pids/pids.max
//   io          v2 io.max "MAJ:MIN rbps= wbps= riops= wiops="
//               v1 blkio/blkio.throttle.{read,write}_{bps,iops}_device "MAJ:MIN value" (0 removes)
import type { LimitKind } from "./types";

/** A file in one v1 hierarchy: [controller, file name]. */
export type V1File = readonly [controller: string, file: string];

/** The v1 hierarchies Airlock uses. cpuacct gives CPU usage; freezer freezes before a kill. */
export const V1_CONTROLLERS = ["cpu", "cpuacct", "memory", "pids", "blkio", "freezer"] as const;
/** The v2 controllers Airlock enables down the tree (freezer and kill are core files in v2). */
export const V2_CONTROLLERS = ["cpu", "memory", "pids", "io"] as const;

/** IO throttle fields in the order of the v1 files below. */
export const IO_FIELDS = ["rbps", "wbps", "riops", "wiops"] as const;

export const LIMIT_FILES: Record<LimitKind, { v2: string; v1: readonly V1File[] }> = {
  cpu: { v2: "cpu.max", v1: [["cpu", "cpu.cfs_quota_us"], ["cpu", "cpu.cfs_period_us"]] },
  "memory.max": { v2: "memory.max", v1: [["memory", "memory.limit_in_bytes"]] },
  "memory.high": { v2: "memory.high", v1: [] },
  "pids.max": { v2: "pids.max", v1: [["pids", "pids.max"]] },
  io: {
    v2: "io.max",
    v1: [
      ["blkio", "blkio.throttle.read_bps_device"],
      ["blkio", "blkio.throttle.write_bps_device"],
      ["blkio", "blkio.throttle.read_iops_device"],
      ["blkio", "blkio.throttle.write_iops_device"],
    ],
  },
};

/** Why a kind has no v1 file at all. */
export const V1_UNSUPPORTED: Partial<Record<LimitKind, string>> = {
  "memory.high": "cgroup v1 has no memory.high (pressure without OOM); only memory.max is available",
};

export const CORE_FILES = {
  procs: "cgroup.procs",
  v2: { freeze: "cgroup.freeze", events: "cgroup.events", kill: "cgroup.kill", controllers: "cgroup.controllers", subtreeControl: "cgroup.subtree_control" },
  v1: { freezerState: ["freezer", "freezer.state"] as V1File },
} as const;

export const STAT_FILES = {
  v2: { cpu: "cpu.stat", memoryEvents: "memory.events", memoryCurrent: "memory.current", pidsEvents: "pids.events", pidsCurrent: "pids.current" },
  v1: {
    cpu: ["cpu", "cpu.stat"] as V1File,
    cpuUsageNs: ["cpuacct", "cpuacct.usage"] as V1File,
    memoryUsage: ["memory", "memory.usage_in_bytes"] as V1File,
    memoryFailcnt: ["memory", "memory.failcnt"] as V1File,
    memoryOomControl: ["memory", "memory.oom_control"] as V1File,
    pidsEvents: ["pids", "pids.events"] as V1File,
    pidsCurrent: ["pids", "pids.current"] as V1File,
    /** v1 keeps TCP buffers out of memory.limit_in_bytes unless this is set (see v1.ts). */
    tcpLimit: ["memory", "memory.kmem.tcp.limit_in_bytes"] as V1File,
    tcp: (n: "usage_in_bytes" | "max_usage_in_bytes" | "failcnt"): V1File => ["memory", `memory.kmem.tcp.${n}`],
  },
} as const;
