// Memory of a harness and what it started, sampled from /proc, split three ways:
//   driver   this process. Its peak is exact: the kernel's high-water mark (VmHWM), reset at the start
//            of each phase by writing 5 to /proc/self/clear_refs (Linux ≥ 4.0);
//   engine   the Pulumi engine's processes: every descendant of the driver, in the driver's session (not
//            detached), at or below a process whose name starts with "pulumi" (the CLI, the language
//            and resource plugins, the dynamic provider's Node process);
//   sandbox  everything else of this run: processes started with its AIRLOCK_STATE_DIR or descending
//            from one (the shared supervisor, gates, targets and workloads are detached, so they are
//            not in the driver's session), and the driver's other children (exec helpers).
// Engine and sandbox peaks are the largest sums seen across samples (every `intervalMs`): a process that
// lives shorter than one interval can be missed, so these are lower bounds; the per-process high-water
// marks (VmHWM) of each sample give the largest single engine process exactly.
import * as fs from "fs";
import { readProc } from "./state-dir-processes";

interface Proc {
  pid: number;
  ppid: number;
  session: number;
  comm: string;
  stateDir: boolean;
}

export interface MemoryPeaks {
  driverPeakRssMiB: number;
  enginePeakRssMiB: number;
  /** The largest single engine process (its own high-water mark). */
  engineLargestProcessMiB: number;
  sandboxPeakRssMiB: number;
  /** Largest sum over all three at one sample (RSS counts shared pages once per process) and PSS. */
  totalPeakRssMiB: number;
  totalPeakPssMiB: number;
  engineProcessesAtPeak: number;
  processesAtPeak: number;
  samples: number;
  /** How the driver's peak was read: "VmHWM" (exact) or "sampled" (clear_refs refused). */
  driverPeakFrom: "VmHWM" | "sampled";
}

const kib = (file: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(readProc(file) ?? "")?.[1] ?? 0);

function processes(stateDir: string): Map<number, Proc> {
  const tag = `AIRLOCK_STATE_DIR=${stateDir}`;
  const out = new Map<number, Proc>();
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    const stat = readProc(`/proc/${pid}/stat`);
    if (!stat) continue;
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    out.set(pid, { pid, ppid: Number(f[1]), session: Number(f[3]), comm, stateDir: (readProc(`/proc/${pid}/environ`) ?? "").split("\0").includes(tag) });
  }
  return out;
}

/** Classifies the processes of this run (see the file header). */
export function classify(stateDir: string, self = process.pid): { engine: number[]; sandbox: number[] } {
  const procs = processes(stateDir);
  const session = procs.get(self)?.session;
  const engine: number[] = [];
  const sandbox: number[] = [];
  const kindOf = new Map<number, "driver" | "engine" | "sandbox" | "none">([[self, "driver"]]);
  const kind = (pid: number, depth = 0): "driver" | "engine" | "sandbox" | "none" => {
    const known = kindOf.get(pid);
    if (known) return known;
    const p = procs.get(pid);
    let k: "driver" | "engine" | "sandbox" | "none" = "none";
    if (p && depth < 64) {
      const parent = p.ppid > 1 ? kind(p.ppid, depth + 1) : "none";
      if ((parent === "driver" || parent === "engine") && p.session === session && (parent === "engine" || p.comm.startsWith("pulumi"))) k = "engine";
      else if (parent !== "none" || p.stateDir) k = "sandbox";
    }
    kindOf.set(pid, k);
    return k;
  };
  for (const pid of procs.keys()) {
    const k = kind(pid);
    if (k === "engine") engine.push(pid);
    else if (k === "sandbox") sandbox.push(pid);
  }
  return { engine, sandbox };
}

/** Samples until stop(); the driver's high-water mark is reset at start. */
export function sampleMemory(stateDir: string, intervalMs = 100): { stop(): MemoryPeaks } {
  let driverPeakFrom: MemoryPeaks["driverPeakFrom"] = "VmHWM";
  try {
    fs.writeFileSync("/proc/self/clear_refs", "5");
  } catch {
    driverPeakFrom = "sampled";
  }
  const peak = { driver: 0, engine: 0, engineLargest: 0, sandbox: 0, total: 0, pss: 0, engineAtPeak: 0, atPeak: 0, samples: 0 };
  const sample = () => {
    const { engine, sandbox } = classify(stateDir);
    const rss = (pids: number[]) => pids.reduce((s, p) => s + kib(`/proc/${p}/status`, "VmRSS"), 0);
    const driver = kib("/proc/self/status", "VmRSS");
    const e = rss(engine);
    const s = rss(sandbox);
    peak.driver = Math.max(peak.driver, driver);
    peak.engine = Math.max(peak.engine, e);
    peak.sandbox = Math.max(peak.sandbox, s);
    for (const p of engine) peak.engineLargest = Math.max(peak.engineLargest, kib(`/proc/${p}/status`, "VmHWM"));
    if (driver + e + s > peak.total) Object.assign(peak, { total: driver + e + s, engineAtPeak: engine.length, atPeak: 1 + engine.length + sandbox.length });
    const pss = [process.pid, ...engine, ...sandbox].reduce((sum, p) => sum + kib(`/proc/${p}/smaps_rollup`, "Pss"), 0);
    peak.pss = Math.max(peak.pss, pss);
    peak.samples++;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const mib = (k: number) => k / 1024;
      return {
        driverPeakRssMiB: mib(driverPeakFrom === "VmHWM" ? Math.max(peak.driver, kib("/proc/self/status", "VmHWM")) : peak.driver),
        enginePeakRssMiB: mib(peak.engine),
        engineLargestProcessMiB: mib(peak.engineLargest),
        sandboxPeakRssMiB: mib(peak.sandbox),
        totalPeakRssMiB: mib(peak.total),
        totalPeakPssMiB: mib(peak.pss),
        engineProcessesAtPeak: peak.engineAtPeak,
        processesAtPeak: peak.atPeak,
        samples: peak.samples,
        driverPeakFrom,
      };
    },
  };
}
