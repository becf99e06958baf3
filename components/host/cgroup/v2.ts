// cgroup v2 (unified): one directory per cgroup, controllers enabled down the tree, freezer and kill
// as core files.
import * as fs from "fs";
import * as path from "path";
import { CORE_FILES, IO_FIELDS, LIMIT_FILES, STAT_FILES, V2_CONTROLLERS } from "./files";
import { parseKeyed, read, safe, settle, write } from "./fsutil";
import type { CgroupHost, CgroupStats, CgroupVersion, CpuLimit, IoLimit, LimitKind, LimitValue, ScalarLimit, SocketMemoryBound } from "./types";

export class CgroupV2 implements CgroupVersion {
  constructor(
    private readonly host: CgroupHost,
    private readonly rel: string,
  ) {}

  dir(): string {
    return path.join(this.host.root, this.rel);
  }

  dirs(): string[] {
    return [this.dir()];
  }

  processesDir(): string {
    return this.dir();
  }

  private file(name: string): string {
    return path.join(this.dir(), name);
  }

  /** Creates the cgroup, enabling Airlock's controllers in every ancestor's subtree_control. */
  create(): void {
    let cur = this.host.root;
    for (const part of this.rel.split("/")) {
      enableControllers(cur);
      cur = path.join(cur, part);
      if (!fs.existsSync(cur)) fs.mkdirSync(cur);
    }
  }

  async setFrozen(frozen: boolean): Promise<void> {
    const f = this.file(CORE_FILES.v2.freeze);
    if (!fs.existsSync(f)) return;
    write(f, frozen ? "1" : "0");
    await settle(() => (parseKeyed(read(this.file(CORE_FILES.v2.events))).frozen === 1) === frozen);
  }

  async killRound(killPids: () => void): Promise<void> {
    const killFile = this.file(CORE_FILES.v2.kill);
    if (fs.existsSync(killFile)) return write(killFile, "1");
    // Kernels before 5.14 have no cgroup.kill: freeze so nothing forks away, kill, thaw.
    await this.setFrozen(true);
    killPids();
    await this.setFrozen(false);
  }

  unsupported(kind: LimitKind): string | undefined {
    const name = LIMIT_FILES[kind].v2;
    return fs.existsSync(this.file(name)) ? undefined : `${name} is not available on this host`;
  }

  getLimit(kind: LimitKind, device?: string): LimitValue {
    const text = read(this.file(LIMIT_FILES[kind].v2));
    switch (kind) {
      case "cpu": {
        const [q, p] = text.split(/\s+/);
        return { quotaUs: q === "max" ? null : Number(q), periodUs: Number(p) } satisfies CpuLimit;
      }
      case "memory.max":
      case "memory.high":
      case "pids.max":
        return text === "max" ? null : Number(text);
      case "io": {
        const none: IoLimit = { rbps: null, wbps: null, riops: null, wiops: null };
        const line = text.split("\n").find((l) => l.startsWith(device + " "));
        if (!line) return none;
        for (const kv of line.split(/\s+/).slice(1)) {
          const [k, v] = kv.split("=");
          if ((IO_FIELDS as readonly string[]).includes(k)) none[k as keyof IoLimit] = v === "max" ? null : Number(v);
        }
        return none;
      }
    }
  }

  setLimit(kind: LimitKind, value: LimitValue, device?: string): void {
    const file = this.file(LIMIT_FILES[kind].v2);
    const max = (v: number | null) => (v === null ? "max" : String(Math.round(v)));
    switch (kind) {
      case "cpu": {
        const c = value as CpuLimit;
        return write(file, `${max(c.quotaUs)} ${Math.round(c.periodUs)}`);
      }
      case "memory.max":
      case "memory.high":
      case "pids.max":
        return write(file, max(value as ScalarLimit));
      case "io": {
        const io = value as IoLimit;
        return write(file, `${device} ${IO_FIELDS.map((k) => `${k}=${max(io[k])}`).join(" ")}`);
      }
    }
  }

  /** v2 charges socket memory ("sock" in memory.stat) to memory.max by itself: nothing to set. */
  limitSocketMemory(): SocketMemoryBound {
    return { bounded: true, how: "cgroup v2 charges socket memory to memory.max" };
  }

  socketMemory(): undefined {
    return undefined;
  }

  stats(): CgroupStats {
    const f = STAT_FILES.v2;
    const cpu = safe(() => parseKeyed(read(this.file(f.cpu))), {} as Record<string, number>);
    const mev = safe(() => parseKeyed(read(this.file(f.memoryEvents))), {} as Record<string, number>);
    const pev = safe(() => parseKeyed(read(this.file(f.pidsEvents))), {} as Record<string, number>);
    return {
      cpuUsageUsec: cpu.usage_usec ?? 0,
      nrThrottled: cpu.nr_throttled ?? 0,
      throttledUsec: cpu.throttled_usec ?? 0,
      memoryCurrent: safe(() => Number(read(this.file(f.memoryCurrent))), 0),
      memoryEvents: { high: mev.high ?? 0, max: mev.max ?? 0, oom: mev.oom ?? 0, oomKill: mev.oom_kill ?? 0 },
      pidsCurrent: safe(() => Number(read(this.file(f.pidsCurrent))), 0),
      pidsMaxEvents: pev.max ?? 0,
    };
  }
}

function enableControllers(dir: string): void {
  const controllersFile = path.join(dir, CORE_FILES.v2.controllers);
  const subtreeFile = path.join(dir, CORE_FILES.v2.subtreeControl);
  if (!fs.existsSync(controllersFile) || !fs.existsSync(subtreeFile)) return;
  const available = new Set(read(controllersFile).split(/\s+/));
  const enabled = new Set(read(subtreeFile).split(/\s+/));
  const missing = V2_CONTROLLERS.filter((c) => available.has(c) && !enabled.has(c));
  if (missing.length) write(subtreeFile, missing.map((c) => `+${c}`).join(" "));
}
