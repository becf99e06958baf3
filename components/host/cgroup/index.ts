// cgroups, v1 and v2, behind one interface. Used by the local backend (the workload's own cgroup:
// limits, freeze, kill), the in-guest guard, and the chaos runner (starvation: lower a limit, later
// restore the old one).
//
// The mode is detected, never assumed: statfs("/sys/fs/cgroup") with the cgroup2 magic means unified
// (v2); anything else is legacy or hybrid, which is treated as v1 (as containerd and Chaos Mesh do),
// because on hybrid hosts the controllers live on the v1 hierarchies and the v2 mount has none.
//
// `Cgroup` holds what both versions share (paths, process listing, the kill loop, validation of
// limits); what differs lives in v1.ts and v2.ts, whose file names come from one table (files.ts).
import * as fs from "fs";
import * as path from "path";
import { registerUndo } from "../journal";
import { V1_CONTROLLERS } from "./files";
import { CGROUP2_SUPER_MAGIC, ifPresent, read, removeTree, sleep, write } from "./fsutil";
import type { CgroupHost, CgroupMode, CgroupStats, CgroupVersion, CpuLimit, IoLimit, LimitKind, LimitValue, ScalarLimit, SocketMemoryBound } from "./types";
import { CgroupV1 } from "./v1";
import { CgroupV2 } from "./v2";

export * from "./types";
export { V1_CONTROLLERS, V2_CONTROLLERS } from "./files";
export { v1CpuWriteOrder } from "./v1";

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

export class Cgroup {
  private readonly version: CgroupVersion;

  /**
   * @param host detected (or test) cgroup host
   * @param rel path below each hierarchy's root, e.g. "airlock/<sandbox id>"
   */
  constructor(
    public readonly host: CgroupHost,
    public readonly rel: string,
  ) {
    if (rel.split("/").some((p) => p === ".." || p === "")) throw new Error(`bad cgroup path '${rel}'`);
    this.version = host.mode === "v2" ? new CgroupV2(host, rel) : new CgroupV1(host, rel);
  }

  /** Directory of this cgroup in one v1 hierarchy (default memory), or the single v2 directory. */
  dir(controller?: (typeof V1_CONTROLLERS)[number]): string {
    return this.version.dir(controller);
  }

  /** Every directory this cgroup occupies (one on v2, one per controller on v1). */
  dirs(): string[] {
    return this.version.dirs();
  }

  exists(): boolean {
    return fs.existsSync(this.dir());
  }

  child(name: string): Cgroup {
    return new Cgroup(this.host, `${this.rel}/${name}`);
  }

  /** Creates the cgroup (on v2 with Airlock's controllers enabled in every ancestor). */
  create(): void {
    this.version.create();
  }

  addProcess(pid: number): void {
    for (const d of this.dirs()) write(path.join(d, "cgroup.procs"), String(pid));
  }

  /** Pids in this cgroup and its children. */
  processes(): number[] {
    const all = new Set<number>();
    // A cgroup (or a child) removed meanwhile by another remover — the journal's undo and a
    // destroy, or two concurrent destroys — is simply gone: ENOENT there means "no processes".
    const walk = (dir: string) => {
      const procs = ifPresent(() => read(path.join(dir, "cgroup.procs")), "");
      for (const l of procs.split("\n")) if (l) all.add(Number(l));
      for (const e of ifPresent(() => fs.readdirSync(dir, { withFileTypes: true }), [])) if (e.isDirectory()) walk(path.join(dir, e.name));
    };
    walk(this.version.processesDir());
    return [...all];
  }

  async freeze(): Promise<void> {
    await this.version.setFrozen(true);
  }

  async thaw(): Promise<void> {
    await this.version.setFrozen(false);
  }

  /** Kills every process in the cgroup (and its children) so that none can fork away meanwhile. */
  async kill(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const killPids = () => {
      for (const pid of this.processes()) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* already gone */
        }
      }
    };
    while (this.processes().length > 0) {
      await this.version.killRound(killPids);
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
    return this.version.unsupported(kind) ?? true;
  }

  getLimit(kind: "cpu"): CpuLimit;
  getLimit(kind: "io", device: string): IoLimit;
  getLimit(kind: "memory.max" | "memory.high" | "pids.max"): ScalarLimit;
  getLimit(kind: LimitKind, device?: string): LimitValue;
  getLimit(kind: LimitKind, device?: string): LimitValue {
    this.mustSupport(kind, device);
    return this.version.getLimit(kind, device);
  }

  setLimit(kind: LimitKind, value: LimitValue, device?: string): void {
    this.mustSupport(kind, device);
    this.version.setLimit(kind, value, device);
  }

  private mustSupport(kind: LimitKind, device?: string): void {
    const ok = this.supports(kind);
    if (ok !== true) throw new Error(`cgroup ${this.rel}: ${ok}`);
    if (kind === "io" && !device) throw new Error("io limits need a device (MAJ:MIN)");
  }

  /** Caps the TCP buffer memory the cgroup's sockets may hold; says how, or why it cannot. */
  limitSocketMemory(bytes: number): SocketMemoryBound {
    return this.version.limitSocketMemory(bytes);
  }

  /** TCP buffer memory charged to the cgroup now and at most (v1 with a tcp limit only; undefined elsewhere). */
  socketMemory(): { usage: number; maxUsage: number; failcnt: number } | undefined {
    return this.version.socketMemory();
  }

  stats(): CgroupStats {
    return this.version.stats();
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
