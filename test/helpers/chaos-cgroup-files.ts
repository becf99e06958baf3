// A cgroup's kernel files read straight from the hierarchy (the host's /sys/fs/cgroup, or a test's
// v2-shaped temporary tree), on cgroup v1 and v2 — deliberately independent of
// components/host/cgroup.ts, the code under test: the tests check its effects here.
import * as fs from "fs";
import * as path from "path";

/** Where a cgroup is: its hierarchy's mode and mount root, and its path below the root. */
export interface CgroupPlace {
  mode: "v1" | "v2";
  root: string;
  rel: string;
}

/** A Cgroup object ({ host, rel }) or a plain place ({ mode, root, rel }). */
export type CgroupLike = CgroupPlace | { host: { mode: "v1" | "v2"; root: string }; rel: string };

const place = (cg: CgroupLike): CgroupPlace => ("host" in cg ? { mode: cg.host.mode, root: cg.host.root, rel: cg.rel } : cg);

/** A file's content, trimmed. */
export const readText = (file: string) => fs.readFileSync(file, "utf8").trim();

/** The file of a cgroup: <root>/<v1 controller>/<rel>/<file> on v1, <root>/<rel>/<file> on v2. */
export function kfile(cg: CgroupLike, v1Controller: string, file: string): string {
  const p = place(cg);
  return p.mode === "v2" ? path.join(p.root, p.rel, file) : path.join(p.root, v1Controller, p.rel, file);
}

/** The content of a cgroup's kernel file (see kfile), trimmed. */
export function readKfile(cg: CgroupLike, v1Controller: string, file: string): string {
  return readText(kfile(cg, v1Controller, file));
}

/** v1 writes "unlimited" as PAGE_COUNTER_MAX in bytes (about 2^63 rounded to pages). */
const V1_UNLIMITED = 2 ** 62;

/** The CPU bandwidth limit in the kernel (quotaUs null = none): v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us. */
export function kernelCpu(cg: CgroupLike): { quotaUs: number | null; periodUs: number } {
  if (place(cg).mode === "v2") {
    const [q, p] = readKfile(cg, "cpu", "cpu.max").split(/\s+/);
    return { quotaUs: q === "max" ? null : Number(q), periodUs: Number(p) };
  }
  const q = Number(readKfile(cg, "cpu", "cpu.cfs_quota_us"));
  return { quotaUs: q === -1 ? null : q, periodUs: Number(readKfile(cg, "cpu", "cpu.cfs_period_us")) };
}

/** The hard memory limit in bytes (null = none): v2 memory.max, v1 memory.limit_in_bytes. */
export function kernelMemoryMax(cg: CgroupLike): number | null {
  const v = place(cg).mode === "v2" ? readKfile(cg, "memory", "memory.max") : readKfile(cg, "memory", "memory.limit_in_bytes");
  if (v === "max") return null;
  return Number(v) >= V1_UNLIMITED ? null : Number(v);
}

/** Memory in use, in bytes: v2 memory.current, v1 memory.usage_in_bytes. */
export function kernelMemoryUsed(cg: CgroupLike): number {
  return Number(place(cg).mode === "v2" ? readKfile(cg, "memory", "memory.current") : readKfile(cg, "memory", "memory.usage_in_bytes"));
}

/** The kernel's CPU throttling counters: periods the quota ran out in, and the time spent throttled. */
export function kernelCpuThrottling(cg: CgroupLike): { nrPeriods: number; nrThrottled: number; throttledUs: number } {
  const stat = readKfile(cg, "cpu", "cpu.stat");
  const field = (k: string) => Number(new RegExp(`^${k} (\\d+)$`, "m").exec(stat)?.[1] ?? NaN);
  if (place(cg).mode === "v2") return { nrPeriods: field("nr_periods"), nrThrottled: field("nr_throttled"), throttledUs: field("throttled_usec") };
  return { nrPeriods: field("nr_periods"), nrThrottled: field("nr_throttled"), throttledUs: field("throttled_time") / 1000 };
}

/** pids.max (null = "max"); the same file on v1 and v2. */
export function kernelPidsMax(cg: CgroupLike): number | null {
  const v = readKfile(cg, "pids", "pids.max");
  return v === "max" ? null : Number(v);
}

export interface KernelIo {
  rbps: number | null;
  wbps: number | null;
  riops: number | null;
  wiops: number | null;
}

/** The IO throttle for one device MAJ:MIN (null = none): v2 io.max, v1 blkio.throttle.*_device. */
export function kernelIo(cg: CgroupLike, device: string): KernelIo {
  const out: KernelIo = { rbps: null, wbps: null, riops: null, wiops: null };
  const lineOf = (text: string) => text.split("\n").find((l) => l.startsWith(`${device} `));
  if (place(cg).mode === "v2") {
    const line = lineOf(readKfile(cg, "io", "io.max"));
    for (const kv of line?.split(/\s+/).slice(1) ?? []) {
      const [k, v] = kv.split("=");
      if (k in out) out[k as keyof KernelIo] = v === "max" ? null : Number(v);
    }
    return out;
  }
  const files: [keyof KernelIo, string][] = [
    ["rbps", "blkio.throttle.read_bps_device"],
    ["wbps", "blkio.throttle.write_bps_device"],
    ["riops", "blkio.throttle.read_iops_device"],
    ["wiops", "blkio.throttle.write_iops_device"],
  ];
  // v1 lists only devices with a limit (writing 0 removes the line).
  for (const [k, f] of files) out[k] = Number(lineOf(readKfile(cg, "blkio", f))?.split(/\s+/)[1] ?? 0) || null;
  return out;
}
