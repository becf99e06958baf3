// The contract between the local backend and everything that acts on a running local sandbox (the
// CLI, the chaos runner, the sweeper): what a sandbox is made of on the host, persisted as
// <state dir>/sandboxes/<id>/handle.json when the sandbox is created. Fields may be added; none may
// be renamed without updating the chaos runner (chaos/) and the sweeper.
import * as fs from "fs";
import * as path from "path";
import { stateDir } from "../host/state";
import type { ProcessRef } from "../host/process";
import type { CgroupRef } from "../host/cgroup";
import type { SandboxSpec } from "../spec/schema";

export interface GateProxy {
  /** Toxiproxy proxy name (airlock-<id>-<upstream>). */
  proxy: string;
  /** Where it listens: host side of the veth, reachable from inside the sandbox. */
  listen: string;
  /** Where it forwards to. */
  upstream: string;
  /** Where the gate really listens when `listen` is a privileged port the (non-root) gate cannot bind; nftables translate listen to it. */
  bind?: string;
}

export interface LocalSandboxHandle {
  id: string;
  createdAt: string;
  expiresAt: string;
  owner: string;
  spec: SandboxSpec;
  /** Network namespace name (airlock-<id>). */
  netns: string;
  /** Host-side veth (airlock...) and the sandbox-side interface name inside the netns. */
  hostIface: string;
  sandboxIface: string;
  hostAddress: string;
  sandboxAddress: string;
  gate: {
    /** Toxiproxy admin API, on host loopback only. */
    adminUrl: string;
    process: ProcessRef;
    /** Per allowed upstream name. */
    proxies: Record<string, GateProxy>;
    /** The gate's own leased uid and cgroup (gates made by an older Airlock ran as root, in no cgroup). */
    uid?: number;
    cgroup?: CgroupRef;
  };
  /** The workload's cgroup (limits, freeze, kill, stats). */
  cgroup: CgroupRef;
  /** The hash-chained record (JSONL) of this sandbox. */
  record: string;
  /** The process that watches the sandbox (TTL, canaries, kill rules), if one runs. */
  supervisor?: ProcessRef;

  // ---- added by the local backend (issue #3); optional so older readers keep working ----
  /** "running" from creation; "killed" once a kill rule fired (exec is then refused). */
  state?: "running" | "killed" | "destroying";
  killed?: { rule: string; detail: string; at: string };
  /**
   * The user the workload and `sandbox exec` run as: a uid leased per sandbox. With `rootInUserns`
   * (unsafe.runAsRoot) the workload is uid 0 of a user namespace that maps 0 to this host uid.
   */
  workloadUser?: { name: string; uid: number; gid: number; home: string; rootInUserns?: boolean };
  /** Host directory the task files came from, if any. */
  taskDir?: string;
  /** Their copy in the sandbox tmpfs, bound read-only at /opt/task in the workload and targets. */
  taskCopy?: string;
  /** The sandbox's private devpts instance on the host (bound at /dev/pts in the workload). */
  devpts?: string;
  /** Its etc/workload and etc/targets hold the whole curated /etc, each bound once (confine.ts writeEtc); older sandboxes bind the host entries one by one. */
  etcComplete?: boolean;
  /** The namespace anchor (pid + start time): how sweepers tell a live sandbox from a process that only names itself like its anchor. */
  anchor?: ProcessRef;
  /** The sandbox tmpfs (home, work, tmp) on the host. */
  fsRoot?: string;
  /** Whether the workload runs under Airlock's seccomp filter (architectures it knows). */
  seccomp?: boolean;
  /** Canary files (relative to the workload home) and the canary endpoint the fake credential names. */
  canaries?: { files: string[]; endpoint?: string };
  /** nft table name (host and sandbox namespace) and the counter counting each upstream's connections. */
  nft?: { table: string; allowedCounters: Record<string, string> };
  /** The targets' own namespace, veth, cgroup and uid (only when the spec has targets). */
  services?: {
    netns: string;
    hostIface: string;
    hostAddress: string;
    address: string;
    cgroup: CgroupRef;
    uid: number;
    targets: Record<string, { address: string; port: number }>;
  };
}

export function sandboxesDir(): string {
  return path.join(stateDir(), "sandboxes");
}

export function handleFile(id: string): string {
  return path.join(sandboxesDir(), id, "handle.json");
}

export function saveHandle(handle: LocalSandboxHandle): void {
  const file = handleFile(handle.id);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(handle, null, 2), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export function loadHandle(id: string): LocalSandboxHandle | undefined {
  try {
    return JSON.parse(fs.readFileSync(handleFile(id), "utf8"));
  } catch {
    return undefined;
  }
}

export function listHandles(): LocalSandboxHandle[] {
  const dir = sandboxesDir();
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((id) => loadHandle(id))
    .filter((h): h is LocalSandboxHandle => h !== undefined);
}
