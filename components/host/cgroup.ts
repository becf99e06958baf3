// cgroups, v1 and v2, behind one interface. Used by the local backend (the workload's own cgroup:
// limits, freeze, kill) and by the chaos runner (starvation: lower a limit, later restore the old one).
//
// The mode is detected, never assumed: statfs("/sys/fs/cgroup") with the cgroup2 magic means unified
// (v2); anything else is legacy or hybrid, which is treated as v1 (as containerd and Chaos Mesh do),
// because on hybrid hosts the controllers live on the v1 hierarchies and the v2 mount has none.
//
// Limits use one cloud-neutral vocabulary ("cpu", "memory.max", ...) mapped to each version's files:
//   cpu         v2 cpu.max "quota period"          v1 cpu.cfs_quota_us + cpu.cfs_period_us
//   memory.max  v2 memory.max                       v1 memory.limit_in_bytes
//   memory.high v2 memory.high (throttles, no OOM)  v1 — none (reported as unsupported)
//   pids.max    v2 pids.max                         v1 pids.max
//   io          v2 io.max "MAJ:MIN rbps= wbps= riops= wiops="
//               v1 blkio.throttle.{read,write}_{bps,iops}_device "MAJ:MIN value" (0 removes)
import * as fs from "fs";
import * as path from "path";
import { registerUndo } from "./journal";

export type CgroupMode = "v1" | "v2";

export interface CgroupHost {
  mode: CgroupMode;
  /** Mount root, normally /sys/fs/cgroup (tests point it at a v2- or v1-shaped temporary tree). */
  root: string;
  /** v1 on a host that also mounts an (empty) v2 hierarchy at <root>/unified. */
  hybrid: boolean;
}

const CGROUP2_SUPER_MAGIC = 0x63677270;

export function detectCgroupHost(root = "/sys/fs/cgroup"): CgroupHost {
  const isV2 = (p: string) => {
    try {
      return fs.statfsSync(p).type === CGROUP2_SUPER_MAGIC;
    } catch {
      return false;
    }
  };
  if (isV2(root)) return { mode: "v2", root, hybrid: false };
  return { mode: "v1", root, hybrid: isV2(path.join(root, "unified")) };
}

/** The v1 hierarchies Airlock uses. cpuacct gives CPU usage; freezer freezes before a kill. */
export const V1_CONTROLLERS = ["cpu", "cpuacct", "memory", "pids", "blkio", "freezer"] as const;
type V1Controller = (typeof V1_CONTROLLERS)[number];
/** The v2 controllers Airlock enables down the tree (freezer and kill are core files in v2). */
export const V2_CONTROLLERS = ["cpu", "memory", "pids", "io"] as const;

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

/** Values at or above this are v1's "unlimited" (PAGE_COUNTER_MAX rounded to pages). */
const V1_UNLIMITED = 2 ** 62;

const read = (file: string) => fs.readFileSync(file, "utf8").trim();
const write = (file: string, value: string) => {
  try {
    fs.writeFileSync(file, value);
  } catch (err: any) {
    throw new Error(`cannot write '${value}' to ${file}: ${err.code ?? err.message}`);
  }
};

function parseKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Cgroup {
  /**
   * @param host detected (or test) cgroup host
   * @param rel path below each hierarchy's root, e.g. "airlock/<sandbox id>"
   */
  constructor(
    public readonly host: CgroupHost,
    public readonly rel: string,
  ) {
    if (rel.split("/").some((p) => p === ".." || p === "")) throw new Error(`bad cgroup path '${rel}'`);
  }

  /** Directory of this cgroup in one v1 hierarchy, or the single v2 directory. */
  dir(controller?: V1Controller): string {
    if (this.host.mode === "v2") return path.join(this.host.root, this.rel);
    return path.join(this.host.root, controller ?? "memory", this.rel);
  }

  /** Every directory this cgroup occupies (one on v2, one per controller on v1). */
  dirs(): string[] {
    if (this.host.mode === "v2") return [this.dir()];
    return [...new Set(V1_CONTROLLERS.filter((c) => fs.existsSync(path.join(this.host.root, c))).map((c) => this.dir(c)))];
  }

  exists(): boolean {
    return fs.existsSync(this.dir());
  }

  child(name: string): Cgroup {
    return new Cgroup(this.host, `${this.rel}/${name}`);
  }

  /** Creates the cgroup; on v2 enables Airlock's controllers in every ancestor's subtree_control. */
  create(): void {
    if (this.host.mode === "v1") {
      for (const d of this.dirs()) fs.mkdirSync(d, { recursive: true });
      return;
    }
    const parts = this.rel.split("/");
    let cur = this.host.root;
    for (const part of parts) {
      enableV2Controllers(cur);
      cur = path.join(cur, part);
      if (!fs.existsSync(cur)) fs.mkdirSync(cur);
    }
  }

  addProcess(pid: number): void {
    for (const d of this.dirs()) write(path.join(d, "cgroup.procs"), String(pid));
  }

  /** Pids in this cgroup and its children. */
  processes(): number[] {
    const all = new Set<number>();
    const walk = (dir: string) => {
      if (!fs.existsSync(dir)) return;
      const f = path.join(dir, "cgroup.procs");
      if (fs.existsSync(f))
        for (const l of read(f).split("\n"))
          if (l) all.add(Number(l));
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(dir, e.name));
    };
    walk(this.dir(this.host.mode === "v1" ? "pids" : undefined));
    return [...all];
  }

  async freeze(): Promise<void> {
    await this.setFrozen(true);
  }

  async thaw(): Promise<void> {
    await this.setFrozen(false);
  }

  private async setFrozen(frozen: boolean): Promise<void> {
    if (this.host.mode === "v2") {
      const f = path.join(this.dir(), "cgroup.freeze");
      if (!fs.existsSync(f)) return;
      write(f, frozen ? "1" : "0");
      for (let i = 0; i < 100; i++) {
        const events = parseKeyed(read(path.join(this.dir(), "cgroup.events")));
        if ((events.frozen === 1) === frozen) return;
        await sleep(10);
      }
      return;
    }
    const f = path.join(this.dir("freezer"), "freezer.state");
    if (!fs.existsSync(f)) return;
    write(f, frozen ? "FROZEN" : "THAWED");
    for (let i = 0; i < 100; i++) {
      const state = read(f);
      if (state === (frozen ? "FROZEN" : "THAWED")) return;
      await sleep(10);
    }
  }

  /**
   * Kills every process in the cgroup (and its children) so that none can fork away meanwhile:
   * v2 cgroup.kill where the kernel has it; otherwise freeze, SIGKILL all, thaw.
   */
  async kill(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const killFile = path.join(this.dir(), "cgroup.kill");
    while (this.processes().length > 0) {
      if (this.host.mode === "v2" && fs.existsSync(killFile)) write(killFile, "1");
      else {
        await this.freeze();
        for (const pid of this.processes()) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            /* already gone */
          }
        }
        await this.thaw();
      }
      if (Date.now() > deadline) throw new Error(`cgroup ${this.rel}: processes still alive after ${timeoutMs} ms: ${this.processes().join(", ")}`);
      await sleep(20);
    }
  }

  /** Kills everything inside and removes the cgroup (children first) from every hierarchy. */
  async remove(): Promise<void> {
    if (!this.dirs().some((d) => fs.existsSync(d))) return;
    await this.kill();
    for (const d of this.dirs()) removeTree(d);
  }

  // ---- limits ----

  /** Whether this host can apply a limit kind; a string says why not. */
  supports(kind: LimitKind): true | string {
    if (this.host.mode === "v1" && kind === "memory.high") return "cgroup v1 has no memory.high (pressure without OOM); only memory.max is available";
    const file = this.limitFiles(kind)[0];
    return fs.existsSync(file) ? true : `${path.basename(file)} is not available on this host`;
  }

  private limitFiles(kind: LimitKind): string[] {
    const v2 = this.host.mode === "v2";
    switch (kind) {
      case "cpu":
        return v2 ? [path.join(this.dir(), "cpu.max")] : [path.join(this.dir("cpu"), "cpu.cfs_quota_us"), path.join(this.dir("cpu"), "cpu.cfs_period_us")];
      case "memory.max":
        return [v2 ? path.join(this.dir(), "memory.max") : path.join(this.dir("memory"), "memory.limit_in_bytes")];
      case "memory.high":
        return [path.join(this.dir(), "memory.high")];
      case "pids.max":
        return [path.join(v2 ? this.dir() : this.dir("pids"), "pids.max")];
      case "io":
        return v2 ? [path.join(this.dir(), "io.max")] : ["read_bps", "write_bps", "read_iops", "write_iops"].map((k) => path.join(this.dir("blkio"), `blkio.throttle.${k}_device`));
    }
  }

  getLimit(kind: "cpu"): CpuLimit;
  getLimit(kind: "io", device: string): IoLimit;
  getLimit(kind: "memory.max" | "memory.high" | "pids.max"): ScalarLimit;
  getLimit(kind: LimitKind, device?: string): LimitValue;
  getLimit(kind: LimitKind, device?: string): LimitValue {
    const ok = this.supports(kind);
    if (ok !== true) throw new Error(`cgroup ${this.rel}: ${ok}`);
    const files = this.limitFiles(kind);
    const v2 = this.host.mode === "v2";
    switch (kind) {
      case "cpu": {
        if (v2) {
          const [q, p] = read(files[0]).split(/\s+/);
          return { quotaUs: q === "max" ? null : Number(q), periodUs: Number(p) };
        }
        const q = Number(read(files[0]));
        return { quotaUs: q < 0 ? null : q, periodUs: Number(read(files[1])) };
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
        if (!device) throw new Error("io limits need a device (MAJ:MIN)");
        const none: IoLimit = { rbps: null, wbps: null, riops: null, wiops: null };
        if (v2) {
          const line = read(files[0]).split("\n").find((l) => l.startsWith(device + " "));
          if (!line) return none;
          for (const kv of line.split(/\s+/).slice(1)) {
            const [k, v] = kv.split("=");
            if (k in none) (none as any)[k] = v === "max" ? null : Number(v);
          }
          return none;
        }
        const keys: (keyof IoLimit)[] = ["rbps", "wbps", "riops", "wiops"];
        files.forEach((f, i) => {
          const line = read(f).split("\n").find((l) => l.startsWith(device + " "));
          if (line) none[keys[i]] = Number(line.split(/\s+/)[1]) || null;
        });
        return none;
      }
    }
  }

  setLimit(kind: LimitKind, value: LimitValue, device?: string): void {
    const ok = this.supports(kind);
    if (ok !== true) throw new Error(`cgroup ${this.rel}: ${ok}`);
    const files = this.limitFiles(kind);
    const v2 = this.host.mode === "v2";
    switch (kind) {
      case "cpu": {
        const c = value as CpuLimit;
        if (v2) return write(files[0], `${c.quotaUs === null ? "max" : Math.round(c.quotaUs)} ${Math.round(c.periodUs)}`);
        return writeV1Cpu(files[0], files[1], c);
      }
      case "memory.max":
      case "memory.high":
      case "pids.max": {
        const n = value as ScalarLimit;
        if (n === null) return write(files[0], v2 || kind === "pids.max" ? "max" : "-1");
        return write(files[0], String(Math.round(n)));
      }
      case "io": {
        if (!device) throw new Error("io limits need a device (MAJ:MIN)");
        const io = value as IoLimit;
        if (v2) {
          const f = (v: number | null) => (v === null ? "max" : String(Math.round(v)));
          return write(files[0], `${device} rbps=${f(io.rbps)} wbps=${f(io.wbps)} riops=${f(io.riops)} wiops=${f(io.wiops)}`);
        }
        const vals = [io.rbps, io.wbps, io.riops, io.wiops];
        files.forEach((file, i) => write(file, `${device} ${vals[i] === null ? 0 : Math.round(vals[i]!)}`));
        return;
      }
    }
  }

  /**
   * Caps the TCP buffer memory the cgroup's sockets may hold. v2 charges socket memory to memory.max
   * by itself ("sock" in memory.stat): nothing to set. v1 keeps it out of memory.limit_in_bytes — it
   * comes from the host-wide TCP pool that every process shares — unless memory.kmem.tcp.limit_in_bytes
   * is set, which must happen before the cgroup's first socket (only later sockets are charged).
   * Returns how socket memory is bounded, or why it is not.
   */
  limitSocketMemory(bytes: number): { bounded: boolean; how: string } {
    if (this.host.mode === "v2") return { bounded: true, how: "cgroup v2 charges socket memory to memory.max" };
    const file = path.join(this.dir("memory"), "memory.kmem.tcp.limit_in_bytes");
    if (!fs.existsSync(file)) return { bounded: false, how: "this kernel's cgroup v1 memory controller has no memory.kmem.tcp.limit_in_bytes" };
    write(file, String(Math.round(bytes)));
    return { bounded: true, how: `memory.kmem.tcp.limit_in_bytes = ${Math.round(bytes)}` };
  }

  /** TCP buffer memory charged to the cgroup now and at most (v1 with a tcp limit only; undefined elsewhere). */
  socketMemory(): { usage: number; maxUsage: number; failcnt: number } | undefined {
    if (this.host.mode === "v2") return undefined;
    const f = (n: string) => path.join(this.dir("memory"), `memory.kmem.tcp.${n}`);
    try {
      return { usage: Number(read(f("usage_in_bytes"))), maxUsage: Number(read(f("max_usage_in_bytes"))), failcnt: Number(read(f("failcnt"))) };
    } catch {
      return undefined;
    }
  }

  // ---- measurements ----

  stats(): CgroupStats {
    const v2 = this.host.mode === "v2";
    const safe = <T>(fn: () => T, fallback: T): T => {
      try {
        return fn();
      } catch {
        return fallback;
      }
    };
    if (v2) {
      const cpu = safe(() => parseKeyed(read(path.join(this.dir(), "cpu.stat"))), {} as Record<string, number>);
      const mev = safe(() => parseKeyed(read(path.join(this.dir(), "memory.events"))), {} as Record<string, number>);
      const pev = safe(() => parseKeyed(read(path.join(this.dir(), "pids.events"))), {} as Record<string, number>);
      return {
        cpuUsageUsec: cpu.usage_usec ?? 0,
        nrThrottled: cpu.nr_throttled ?? 0,
        throttledUsec: cpu.throttled_usec ?? 0,
        memoryCurrent: safe(() => Number(read(path.join(this.dir(), "memory.current"))), 0),
        memoryEvents: { high: mev.high ?? 0, max: mev.max ?? 0, oom: mev.oom ?? 0, oomKill: mev.oom_kill ?? 0 },
        pidsCurrent: safe(() => Number(read(path.join(this.dir(), "pids.current"))), 0),
        pidsMaxEvents: pev.max ?? 0,
      };
    }
    const cpu = safe(() => parseKeyed(read(path.join(this.dir("cpu"), "cpu.stat"))), {} as Record<string, number>);
    const oom = safe(() => parseKeyed(read(path.join(this.dir("memory"), "memory.oom_control"))), {} as Record<string, number>);
    const pev = safe(() => parseKeyed(read(path.join(this.dir("pids"), "pids.events"))), {} as Record<string, number>);
    return {
      cpuUsageUsec: safe(() => Number(read(path.join(this.dir("cpuacct"), "cpuacct.usage"))) / 1000, 0),
      nrThrottled: cpu.nr_throttled ?? 0,
      throttledUsec: (cpu.throttled_time ?? 0) / 1000,
      memoryCurrent: safe(() => Number(read(path.join(this.dir("memory"), "memory.usage_in_bytes"))), 0),
      memoryEvents: {
        high: 0,
        max: safe(() => Number(read(path.join(this.dir("memory"), "memory.failcnt"))), 0),
        oom: oom.oom_kill ?? 0,
        oomKill: oom.oom_kill ?? 0,
      },
      pidsCurrent: safe(() => Number(read(path.join(this.dir("pids"), "pids.current"))), 0),
      pidsMaxEvents: pev.max ?? 0,
    };
  }
}

/**
 * The v1 CPU limit is two files, so a change passes through one intermediate state. The order is
 * chosen so that this state is never a wider limit (more CPU per period) than both the old and the
 * new one — and so a failure between the writes never leaves the cgroup with more CPU than it had
 * or was meant to get (the old code lifted the quota to -1 first: for a moment no limit at all):
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
  const steps: ("quota" | "period")[] = [];
  const quotaChanges = old.quotaUs !== next.quotaUs;
  const periodChanges = old.periodUs !== next.periodUs;
  if (!quotaChanges && !periodChanges) return steps;
  if (!periodChanges) return ["quota"];
  if (!quotaChanges) return ["period"]; // one write: no intermediate state
  const quotaFirst = next.quotaUs === null ? true : old.quotaUs === null ? next.periodUs <= old.periodUs : next.periodUs < old.periodUs;
  return quotaFirst ? ["quota", "period"] : ["period", "quota"];
}

function writeV1Cpu(quotaFile: string, periodFile: string, next: CpuLimit): void {
  const q = Number(read(quotaFile));
  const old: CpuLimit = { quotaUs: q < 0 ? null : q, periodUs: Number(read(periodFile)) };
  const want = { quotaUs: next.quotaUs === null ? null : Math.round(next.quotaUs), periodUs: Math.round(next.periodUs) };
  for (const step of v1CpuWriteOrder(old, want)) {
    if (step === "quota") write(quotaFile, want.quotaUs === null ? "-1" : String(want.quotaUs));
    else write(periodFile, String(want.periodUs));
  }
}

function enableV2Controllers(dir: string): void {
  const controllersFile = path.join(dir, "cgroup.controllers");
  const subtreeFile = path.join(dir, "cgroup.subtree_control");
  if (!fs.existsSync(controllersFile) || !fs.existsSync(subtreeFile)) return;
  const available = new Set(read(controllersFile).split(/\s+/));
  const enabled = new Set(read(subtreeFile).split(/\s+/));
  const missing = V2_CONTROLLERS.filter((c) => available.has(c) && !enabled.has(c));
  if (missing.length) write(subtreeFile, missing.map((c) => `+${c}`).join(" "));
}

/** rmdir a cgroup directory and its child cgroups, deepest first (cgroup dirs only rmdir when empty). */
function removeTree(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeTree(path.join(dir, e.name));
  try {
    fs.rmdirSync(dir);
  } catch (err: any) {
    // A fake (test) tree holds regular files; a real cgroup dir only holds kernel files.
    if (err.code === "ENOTEMPTY" && !isCgroupFs(dir)) fs.rmSync(dir, { recursive: true, force: true });
    else if (err.code !== "ENOENT") throw new Error(`cannot remove cgroup ${dir}: ${err.code}`);
  }
}

function isCgroupFs(dir: string): boolean {
  try {
    const t = fs.statfsSync(dir).type;
    return t === CGROUP2_SUPER_MAGIC || t === 0x27e0eb; // CGROUP_SUPER_MAGIC (v1)
  } catch {
    return false;
  }
}

/** Finds Airlock cgroups (any directory named airlock*) in every hierarchy, for the sweeper. */
export function findAirlockCgroups(host: CgroupHost, maxDepth = 4): string[] {
  const roots = host.mode === "v2" ? [host.root] : V1_CONTROLLERS.map((c) => path.join(host.root, c)).filter((p) => fs.existsSync(p));
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > maxDepth) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      if (e.name.startsWith("airlock")) found.push(p);
      else walk(p, depth + 1);
    }
  };
  for (const r of roots) walk(r, 1);
  return found;
}

// ---- undo kinds (see journal.ts) ----

/** What the journal records to find a cgroup again after a crash. */
export interface CgroupRef {
  mode: CgroupMode;
  root: string;
  rel: string;
}

export function cgroupRef(cg: Cgroup): CgroupRef {
  return { mode: cg.host.mode, root: cg.host.root, rel: cg.rel };
}

/** The cgroup a ref names (journals, handles, chaos targets: one definition for all of them). */
export function cgroupOf(ref: CgroupRef): Cgroup {
  return new Cgroup({ mode: ref.mode, root: ref.root, hybrid: false }, ref.rel);
}

/** Undo of creating a cgroup: kill what is inside, remove it. */
registerUndo("cgroup", async (ref: CgroupRef) => {
  await cgroupOf(ref).remove();
});

/** Undo of changing a limit: write the old value back (nothing to do if the cgroup is gone). */
registerUndo("cgroup-limit", (args: CgroupRef & { kind: LimitKind; device?: string; old: LimitValue }) => {
  const cg = cgroupOf(args);
  if (!cg.exists()) return;
  cg.setLimit(args.kind, args.old, args.device);
});
