// The steps of HostSandbox.create, in dependency order, over one context (the style of
// components/aws/component.ts: each part a plain function of what the earlier parts made):
//
//   boundary     leases (addresses, uids), the network namespaces, the anchor, the veth pairs
//   firewall     the gate's routes, the canary endpoint (nftables must know its port), three nft tables
//   filesystem   the tmpfs, devpts, writable dirs, the task copy, /etc, the seccomp file, canaries
//   cgroups      workload, targets and gate cgroups with their limits
//   gate         the confined Toxiproxy server and its listeners
//   targets      the spec's mock services, each waited for
//   guard        canary watches, kill rules, the ttl
//
// Each step's undo: every host object a step makes is journaled (ctx.journal) before it exists, so a
// failed create undoes every step, newest first, with the same handlers recovery uses after a SIGKILL.
// What lives only in this process (the canary endpoint, the canary watches) registers its undo with
// ctx.onUndo. runStep times each step: the timings go into the record and the bench.
import * as fs from "fs";
import * as path from "path";
import type { UndoJournal } from "../host/journal";
import { Cgroup, cgroupRef, detectCgroupHost, CgroupHost } from "../host/cgroup";
import type { ChainLog } from "../record/chain-log";
import type { SandboxIdentity } from "../naming";
import type { SandboxSpec } from "../spec/schema";
import type { HostNames } from "./names";
import { targetDirs, SandboxLayout } from "./layout";
import { leaseSlash30, leaseUid, Slash30 } from "./leases";
import { createBoundary, BoundaryLink } from "./netns";
import { applyTable, hostRuleset, sandboxRuleset, servicesRuleset, GateRules } from "./nft";
import { copyTree, mountDevpts, mountTmpfs } from "./hostfs";
import { writeEtc } from "./confine";
import { seccompSupported, workloadSeccompFilter } from "./seccomp";
import { plantCanaries, startCanaryEndpoint, CanaryEndpoint, CanaryFile } from "./canary";
import { GATE_LOG, planGateRoutes, startGate, Gate, GateRoute } from "./gate";
import { GATE_LIMITS } from "./gate-confine";
import { startNetnsAnchor, NetnsAnchor } from "./anchor";
import { pausePoint } from "../host/test-pause";
import { safeAppend } from "./record";
import { cgroupProcsFiles, TARGET_USER } from "./views";
import type { LocalSandboxHandle } from "./handle";

/** Fixed restrictions of the targets (mock services are small; they get their own cgroup). */
export const TARGET_LIMITS = { cpus: 1, memoryBytes: 512 * 1024 ** 2, pids: 256 };
/** Ptys one sandbox may hold at once (its private devpts instance's max=): enough for a shell, tmux with a few panes, expect/pexpect. */
export const PTY_MAX = 16;

export type StepName = "boundary" | "firewall" | "filesystem" | "cgroups" | "gate" | "targets" | "guard";

/** What every step reads: the request, where things go, and the two durable logs. */
export interface CreateContext {
  spec: SandboxSpec;
  identity: SandboxIdentity;
  id: string;
  names: HostNames;
  layout: SandboxLayout;
  journal: UndoJournal;
  record: ChainLog;
  taskDir?: string;
  progress: (message: string) => void;
  /** Milliseconds each finished step took, in order. */
  timings: Partial<Record<StepName, number>>;
  /** Undo of something that lives only in this process (run newest first on a failed create). */
  onUndo(undo: () => void | Promise<void>): void;
}

/** Runs one step, timing it. */
export async function runStep<T>(ctx: CreateContext, name: StepName, step: () => Promise<T> | T): Promise<T> {
  const t0 = process.hrtime.bigint();
  try {
    return await step();
  } finally {
    ctx.timings[name] = Number(process.hrtime.bigint() - t0) / 1e6;
  }
}

// ---- boundary ----

export interface Boundary {
  net: Slash30;
  svcNet?: Slash30;
  uid: number;
  svcUid?: number;
  gateUid: number;
  anchor: NetnsAnchor;
}

export async function buildBoundary(ctx: CreateContext, ownerGraceMs: number): Promise<Boundary> {
  const { spec, journal, id, names } = ctx;
  ctx.progress("leasing addresses and uids");
  const hasTargets = spec.targets.length > 0;
  const net = await leaseSlash30(journal, id, spec.network.cidr, "sandbox");
  const svcNet = hasTargets ? await leaseSlash30(journal, id, spec.network.cidr, "services") : undefined;
  // Root or not, the workload gets a leased uid of its own on the host: "root" is uid 0 only inside
  // a user namespace that this uid creates (see confine.ts) — never host uid 0.
  const uid = await leaseUid(journal, id, "workload");
  const svcUid = hasTargets ? await leaseUid(journal, id, "services") : undefined;
  // The gate's own uid: the host's nftables match it (meta skuid) to confine what the gate reaches.
  const gateUid = await leaseUid(journal, id, "gate");

  ctx.progress(`creating network namespace ${names.netns} (no default route, IPv6 off)`);
  const links: BoundaryLink[] = [{ netns: names.netns, hostIface: names.hostIface, alias: names.linkAlias, net }];
  if (svcNet) links.push({ netns: names.svcNetns, hostIface: names.svcHostIface, alias: names.linkAlias, net: svcNet });
  await createBoundary(journal, links);
  // The window before the anchor: only the owner registry (host/owners.ts) tells another state
  // directory's sweep that these objects are owned (test/sweep-scope.test.ts stops here).
  pausePoint("boundary:before-anchor");
  // The anchor, right after the namespace: it reads the namespace's counters for the guard, and
  // while it lives (it dies with this process) every sweeper on the host knows the sandbox is owned.
  const anchor = startNetnsAnchor({ netns: names.netns, name: names.anchorProcess, lifetimeSeconds: (ctx.identity.expiresAt.getTime() - Date.now() + ownerGraceMs) / 1000 });
  journal.record("process", `namespace anchor (pid ${anchor.process.pid})`, anchor.process);
  return { net, svcNet, uid, svcUid, gateUid, anchor };
}

// ---- firewall ----

export interface Firewall {
  routes: GateRoute[];
  gateRules: GateRules;
  canaryEndpoint?: CanaryEndpoint;
  canaryUrl?: string;
}

export async function loadFirewall(ctx: CreateContext, b: Boundary, onCanaryUsed: (from: string, request: string) => void): Promise<Firewall> {
  const { spec, journal, names } = ctx;
  // The canary endpoint is a socket of this (owner) process on the gate address; nftables must
  // know its port, so it starts before the rules.
  let canaryEndpoint: CanaryEndpoint | undefined;
  if (spec.canaries.enabled) {
    canaryEndpoint = await startCanaryEndpoint(b.net.hostAddress, onCanaryUsed);
    ctx.onUndo(() => canaryEndpoint!.close());
  }
  const canaryUrl = canaryEndpoint ? `http://${b.net.hostAddress}:${canaryEndpoint.port}` : undefined;

  ctx.progress("loading nftables rules (sandbox namespace, host, targets)");
  const gate = spec.egressResolved.map((e) => ({ upstream: e.name, port: e.listenPort }));
  const routes = await planGateRoutes(spec.egressResolved, { listenAddress: b.net.hostAddress, targetAddress: b.svcNet?.innerAddress, confined: true });
  const hostPorts = [...new Set(routes.map((r) => r.bindPort)), ...(canaryEndpoint ? [canaryEndpoint.port] : [])];
  const gateRules: GateRules = {
    uid: b.gateUid,
    upstreams: [...new Map(routes.map((r) => [`${r.address} ${r.port}`, { address: r.address, port: r.port }])).values()],
    dnat: routes.filter((r) => r.bindPort !== r.listenPort).map((r) => ({ listenPort: r.listenPort, bindPort: r.bindPort })),
  };
  // The three tables are independent (each its own namespace), so they load at once. Nothing runs
  // in the namespaces yet: no packet can pass before all of them are in place.
  const loads = [
    applyTable(journal, { netns: names.netns, table: names.nftTable, ruleset: sandboxRuleset({ table: names.nftTable, hostAddress: b.net.hostAddress, gate, canaryPort: canaryEndpoint?.port }) }),
    applyTable(journal, {
      table: names.nftTable,
      ruleset: hostRuleset({ table: names.nftTable, hostIface: names.hostIface, hostAddress: b.net.hostAddress, ports: hostPorts, svcIface: b.svcNet ? names.svcHostIface : undefined, gate: gateRules }),
    }),
  ];
  if (b.svcNet) {
    const ports = [...new Set(spec.targets.map((t) => t.port))];
    loads.push(applyTable(journal, { netns: names.svcNetns, table: names.svcNftTable, ruleset: servicesRuleset({ table: names.svcNftTable, gateAddress: b.svcNet.hostAddress, ports }) }));
  }
  const failed = (await Promise.allSettled(loads)).find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return { routes, gateRules, canaryEndpoint, canaryUrl };
}

// ---- filesystem ----

export interface Filesystem {
  fsBytes: number;
  user: NonNullable<LocalSandboxHandle["workloadUser"]>;
  taskCopy?: string;
  seccomp: boolean;
  planted: CanaryFile[];
}

const privateDir = (d: string, uid: number) => {
  fs.mkdirSync(d, { mode: 0o700 });
  fs.chownSync(d, uid, uid);
};
const sharedMemoryDir = (d: string) => {
  fs.mkdirSync(d, { mode: 0o1777 });
  fs.chmodSync(d, 0o1777);
};

export async function buildFilesystem(ctx: CreateContext, b: Boundary, fw: Firewall): Promise<Filesystem> {
  const { spec, journal, layout, record } = ctx;
  // Sized to what the sandbox can really hold: tmpfs pages are charged to its memory limit, so a
  // larger size would only be a number the workload can read (a 20 GiB disk in a 256 MiB sandbox).
  const fsBytes = Math.min(spec.workloadDiskBytes, spec.workloadMemoryBytes);
  ctx.progress(`mounting the sandbox filesystem (tmpfs, ${Math.round(fsBytes / 1024 ** 2)} MiB = min(disk, memory))`);
  await mountTmpfs(journal, layout.fsRoot, { source: "tmpfs", sizeBytes: fsBytes });
  await mountDevpts(journal, layout.devpts, PTY_MAX);
  const asRoot = spec.workload.user === "root";
  const user = { name: spec.workload.user, uid: b.uid, gid: b.uid, home: asRoot ? "/root" : `/home/${spec.workload.user}`, ...(asRoot ? { rootInUserns: true } : {}) };
  for (const d of [layout.home, layout.work, layout.tmp]) privateDir(d, b.uid);
  sharedMemoryDir(layout.shm);
  for (const t of spec.targets) {
    const dirs = targetDirs(layout, t.name);
    for (const d of [dirs.root, dirs.work, dirs.tmp]) privateDir(d, b.svcUid!);
    sharedMemoryDir(dirs.shm);
  }
  let taskCopy: string | undefined;
  if (ctx.taskDir) {
    ctx.progress(`copying the task files into the sandbox (${ctx.taskDir} -> /opt/task)`);
    try {
      copyTree(ctx.taskDir, layout.task);
    } catch (e: any) {
      if (e.code === "ENOSPC") throw Object.assign(new Error(`the task files in ${ctx.taskDir} do not fit into the sandbox's filesystem (${Math.round(fsBytes / 1024 ** 2)} MiB = min(workload.disk, workload.memory))`), { hint: "raise workload.memory / workload.disk, or move large files out of the task directory" });
      throw e;
    }
    taskCopy = layout.task;
  }
  const upstreamHosts: [string, string[]][] = spec.egressResolved.length ? [[b.net.hostAddress, spec.egressResolved.map((e) => e.name)]] : [];
  const inside = asRoot ? 0 : b.uid; // the ids /etc/passwd shows: what the workload sees itself as
  try {
    writeEtc(path.join(layout.etcDir, "workload"), { user: user.name, uid: inside, gid: inside, home: user.home, hostname: spec.name, hosts: upstreamHosts });
    if (b.svcUid !== undefined) writeEtc(path.join(layout.etcDir, "targets"), { user: TARGET_USER, uid: b.svcUid, gid: b.svcUid, home: "/work", hostname: "service", hosts: [] });
  } catch (e: any) {
    // (The curated /etc, about 0.5 MiB per principal, is copied into the same tmpfs.)
    if (e.code === "ENOSPC") throw Object.assign(new Error(`the sandbox's /etc does not fit into its filesystem (${Math.round(fsBytes / 1024 ** 2)} MiB = min(workload.disk, workload.memory), task files included)`), { hint: "raise workload.memory / workload.disk" });
    throw e;
  }
  const seccomp = seccompSupported();
  if (seccomp) fs.writeFileSync(layout.seccompFile, workloadSeccompFilter(), { mode: 0o600 });
  else safeAppend(record, "seccomp-unavailable", { arch: process.arch, note: "no seccomp filter for this architecture; user namespaces stay creatable inside" });
  const planted = spec.canaries.enabled ? plantCanaries(layout.home, spec.canaries.files, spec.canaries.credential, fw.canaryUrl!, { user: user.name, hostname: spec.name }) : [];
  return { fsBytes, user, taskCopy, seccomp, planted };
}

// ---- cgroups ----

export interface Cgroups {
  host: CgroupHost;
  workload: Cgroup;
  services?: Cgroup;
  gate: Cgroup;
  socketMemory: ReturnType<Cgroup["limitSocketMemory"]>;
}

async function createCgroup(ctx: CreateContext, host: CgroupHost, name: string): Promise<Cgroup> {
  const cg = new Cgroup(host, name);
  await ctx.journal.apply("cgroup", `cgroup ${name} (${host.mode})`, cgroupRef(cg), () => cg.create());
  return cg;
}

export async function createCgroups(ctx: CreateContext, b: Boundary): Promise<Cgroups> {
  const { spec, names } = ctx;
  ctx.progress(`creating cgroups (${spec.workload.cpus} CPU, ${spec.workload.memory}, ${spec.workload.pids} pids)`);
  const host = detectCgroupHost();
  const workload = await createCgroup(ctx, host, names.cgroup);
  workload.setLimit("cpu", { quotaUs: Math.round(spec.workload.cpus * 100_000), periodUs: 100_000 });
  workload.setLimit("memory.max", spec.workloadMemoryBytes);
  workload.setLimit("pids.max", spec.workload.pids);
  // Socket buffers: on v1 outside memory.limit_in_bytes unless capped (88 loopback connections once
  // held 808 MiB of the host's shared TCP pool in a 256 MiB sandbox). Capped at the memory limit:
  // never more socket memory than the sandbox may use, as on v2.
  const socketMemory = workload.limitSocketMemory(spec.workloadMemoryBytes);
  let services: Cgroup | undefined;
  if (b.svcNet) {
    services = await createCgroup(ctx, host, names.svcCgroup);
    services.setLimit("cpu", { quotaUs: TARGET_LIMITS.cpus * 100_000, periodUs: 100_000 });
    services.setLimit("memory.max", TARGET_LIMITS.memoryBytes);
    services.setLimit("pids.max", TARGET_LIMITS.pids);
    services.limitSocketMemory(TARGET_LIMITS.memoryBytes);
  }
  const gate = await createCgroup(ctx, host, names.gateCgroup);
  gate.setLimit("memory.max", GATE_LIMITS.memoryBytes);
  gate.setLimit("pids.max", GATE_LIMITS.pids);
  gate.limitSocketMemory(GATE_LIMITS.memoryBytes);
  return { host, workload, services, gate, socketMemory };
}

// ---- gate ----

export async function startSandboxGate(ctx: CreateContext, b: Boundary, fw: Firewall, files: Filesystem, cgs: Cgroups): Promise<Gate> {
  const { spec, names, layout, record } = ctx;
  ctx.progress(`starting the egress gate (${spec.egressResolved.length} listener(s) on ${b.net.hostAddress})`);
  return startGate(ctx.journal, {
    id: ctx.id,
    processName: names.gateProcess,
    logFile: layout.gateLog,
    listenAddress: b.net.hostAddress,
    routes: fw.routes,
    confine: { uid: b.gateUid, cgroupProcs: cgroupProcsFiles(cgroupRef(cgs.gate)), seccompFile: files.seccomp ? layout.seccompFile : undefined, argv0: names.gateProcess },
    onLogRotated: (info) => safeAppend(record, "gate-log-rotated", { ...info, capBytes: GATE_LOG.capBytes }),
  });
}

// ---- the handle (pure: what the other steps made, as the CLI, chaos runner and sweeper read it) ----

export function sandboxHandle(ctx: CreateContext, b: Boundary, fw: Firewall, files: Filesystem, cgs: Cgroups, gate: Gate, o: { supervisor: LocalSandboxHandle["supervisor"]; sandboxIface: string; allowedCounters: Record<string, string> }): LocalSandboxHandle {
  const { spec, names, identity, layout } = ctx;
  return {
    id: ctx.id,
    createdAt: new Date().toISOString(),
    expiresAt: identity.expiresAt.toISOString(),
    owner: identity.owner,
    spec,
    netns: names.netns,
    hostIface: names.hostIface,
    sandboxIface: o.sandboxIface,
    hostAddress: b.net.hostAddress,
    sandboxAddress: b.net.innerAddress,
    gate: { adminUrl: gate.server.url, process: gate.server.process, proxies: gate.proxies, uid: b.gateUid, cgroup: cgroupRef(cgs.gate) },
    cgroup: cgroupRef(cgs.workload),
    record: layout.record,
    supervisor: o.supervisor,
    state: "running",
    workloadUser: files.user,
    taskDir: ctx.taskDir,
    taskCopy: files.taskCopy,
    devpts: layout.devpts,
    etcComplete: true,
    anchor: b.anchor.process,
    fsRoot: layout.fsRoot,
    seccomp: files.seccomp,
    canaries: { files: files.planted.map((p) => p.rel), endpoint: fw.canaryUrl },
    nft: { table: names.nftTable, allowedCounters: o.allowedCounters },
    services:
      b.svcNet && cgs.services
        ? {
            netns: names.svcNetns,
            hostIface: names.svcHostIface,
            hostAddress: b.svcNet.hostAddress,
            address: b.svcNet.innerAddress,
            cgroup: cgroupRef(cgs.services),
            uid: b.svcUid!,
            targets: Object.fromEntries(spec.targets.map((t) => [t.name, { address: b.svcNet!.innerAddress, port: t.port }])),
          }
        : undefined,
  };
}
