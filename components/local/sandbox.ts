// One local sandbox: create (every host object journaled before it exists), run its workload, kill
// it when a rule fires, destroy it (undo everything, seal the record).
//
// The process that creates a sandbox owns it: it is the runner of the sandbox's undo journal, runs
// its guard, and is the parent of its gate listeners' peers (targets, workload: --die-with-parent).
// If the owner dies without cleaning up, the workload and targets die with it, and the next
// `airlock run` / `sandbox create` / `sweep` / `recover` replays the journal. `airlock run` owns its
// sandbox itself; detached sandboxes (`sandbox create`, Pulumi) are owned by the shared supervisor.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { UndoJournal, UndoOutcome } from "../host/journal";
import { requireRoot, requireTools } from "../host/exec";
import { Cgroup, cgroupRef, detectCgroupHost } from "../host/cgroup";
import { selfRef } from "../host/process";
import type { ChainLog } from "../record/chain-log";
import { identityFor, SandboxIdentity, sandboxLabels } from "../naming";
import type { SandboxSpec } from "../spec/schema";
import { LocalSandboxHandle, saveHandle } from "./handle";
import { hostNames, INNER_IFACE } from "./names";
import { sandboxLayout, targetDirs } from "./layout";
import { leaseSlash30, leaseUid } from "./leases";
import { createBoundaryNetns, createVethPair } from "./netns";
import { applyTable, hostRuleset, sandboxRuleset, servicesRuleset, readCounters, allowedCounter } from "./nft";
import { copyTree, createDir, mountDevpts, mountTmpfs } from "./hostfs";
import { writeEtc, WORKLOAD_NOFILE } from "./confine";
import { seccompSupported, socketPolicy, workloadSeccompFilter } from "./seccomp";
import { canaryList, MAX_CANARY_FILES, plantCanaries, prepareCanaryWatcher, startCanaryEndpoint, watchCanaries, CanaryEndpoint, CanaryWatcher } from "./canary";
import { GATE_LOG, planGateRoutes, startGate } from "./gate";
import { GATE_LIMITS } from "./gate-confine";
import { startNetnsAnchor } from "./anchor";
import { startTargets } from "./targets";
import { SandboxGuard, Trip, EgressCounts } from "./guard";
import { createRecord, safeAppend } from "./record";
import { startConfined, ConfinedRun, ExitStatus } from "./process-run";
import { cgroupOf, cgroupProcsFiles, workloadConfinement, TARGET_USER } from "./views";
import type { Writable } from "stream";
import { spawnSync } from "child_process";

export const JOURNAL_PURPOSE = "local-sandbox";
/** Host tools the local backend runs (each maps to a Debian package in TOOL_PACKAGES). */
export const REQUIRED_TOOLS = ["ip", "nft", "bwrap", "nsenter", "setpriv", "unshare", "flock", "sysctl", "mount", "umount", "python3", "toxiproxy-server"];
/** Fixed restrictions of the targets (mock services are small; they get their own cgroup). */
export const TARGET_LIMITS = { cpus: 1, memoryBytes: 512 * 1024 ** 2, pids: 256 };
/** How long after expiry a hung owner is still left alone by recovery (its own timer fires first). */
export const OWNER_GRACE_MS = 60_000;
/** Ptys one sandbox may hold at once (its private devpts instance's max=): enough for a shell, tmux with a few panes, expect/pexpect. */
export const PTY_MAX = 16;

/** Fails early, with the package to install, if this host cannot build a local sandbox. */
export function checkHost(): void {
  requireRoot("the local backend");
  requireTools(...REQUIRED_TOOLS);
}

/** Tools needed to take sandboxes apart: cleanup must work even where e.g. Toxiproxy was removed. */
export const CLEANUP_TOOLS = ["ip", "nft", "umount"];

export function checkHostForCleanup(what: string): void {
  requireRoot(what);
  requireTools(...CLEANUP_TOOLS);
}

export interface CreateOptions {
  identity?: SandboxIdentity;
  /** Host directory mounted read-only at /opt/task (the workload's and targets' code). */
  taskDir?: string;
  progress?: (message: string) => void;
  /** Who asked for the sandbox, written into the record's first entry as `meta` (e.g. Inspect's task, sample id and epoch). */
  recordMeta?: Record<string, unknown>;
}

export interface DestroyResult {
  id: string;
  reason: string;
  record: string;
  head?: string;
  failed: UndoOutcome[];
}

/** Sandboxes owned by this process, by id. */
const OWNED = new Map<string, LocalSandbox>();

export function ownedSandbox(id: string): LocalSandbox | undefined {
  return OWNED.get(id);
}

export function ownedSandboxes(): LocalSandbox[] {
  return [...OWNED.values()];
}

/**
 * Whether a non-root uid may create a user namespace on this host (a root workload is root only inside
 * one its own uid creates). Returns why not, or undefined.
 */
function userNamespacesRefused(): string | undefined {
  const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", "unshare", "--user", "--map-root-user", "--", "true"], { encoding: "utf8", timeout: 10_000, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
  if (r.error) return r.error.message;
  return r.status === 0 ? undefined : (r.stderr || `exit ${r.status}`).trim();
}

/** What the local backend needs from a spec beyond its schema; checked before anything is created. */
function checkLocalSpec(spec: SandboxSpec): void {
  const files = canaryList(spec.canaries.files, spec.canaries.credential).length;
  if (spec.canaries.enabled && files > MAX_CANARY_FILES) {
    throw Object.assign(new Error(`canaries.files: ${files} canary files (with canaries.credential's AWS profile); the local backend watches at most ${MAX_CANARY_FILES} per sandbox`), { hint: `list fewer files in canaries.files` });
  }
  if (spec.workload.user === "root") {
    const why = userNamespacesRefused();
    if (why) {
      throw Object.assign(new Error(`workload.user: root (unsafe.runAsRoot) runs as root inside a user namespace of the sandbox's own uid on the local backend, and this host refuses unprivileged user namespaces (${why})`), {
        hint: "use a non-root workload.user (the default 'agent'), or allow unprivileged user namespaces on this host (sysctl user.max_user_namespaces > 0; on Debian kernels kernel.unprivileged_userns_clone=1)",
      });
    }
  }
}

function checkTaskDir(dir: string): string {
  const abs = path.resolve(dir);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    throw new Error(`task directory ${abs} does not exist`);
  }
  if (!st.isDirectory()) throw new Error(`task path ${abs} is not a directory`);
  if ((st.mode & 0o005) !== 0o005) throw new Error(`task directory ${abs} is not readable by the workload user; run: chmod o+rX ${abs}`);
  return abs;
}

export class LocalSandbox {
  workload: ConfinedRun | undefined;
  killedBy: Trip | undefined;
  /** Called after a kill rule fired and the cgroup was killed (the owner then destroys). */
  onKilled: ((t: Trip) => void) | undefined;
  private destroying: Promise<DestroyResult> | undefined;
  private killing: Promise<void> | undefined;
  private canaryWatcher: CanaryWatcher | undefined;

  private constructor(
    public readonly handle: LocalSandboxHandle,
    public readonly record: ChainLog,
    private readonly journal: UndoJournal,
    private readonly guard: SandboxGuard,
    private readonly canaryEndpoint: CanaryEndpoint | undefined,
  ) {}

  get id(): string {
    return this.handle.id;
  }

  static async create(spec: SandboxSpec, opts: CreateOptions = {}): Promise<LocalSandbox> {
    if (spec.backend !== "local") throw new Error(`spec backend is '${spec.backend}', not local`);
    checkHost();
    const progress = opts.progress ?? (() => undefined);
    const identity = opts.identity ?? identityFor(spec);
    const id = identity.id;
    const names = hostNames(id);
    const layout = sandboxLayout(id);
    const taskDir = opts.taskDir ? checkTaskDir(opts.taskDir) : undefined;
    checkLocalSpec(spec);
    const journal = UndoJournal.open(id, { purpose: JOURNAL_PURPOSE, deadline: new Date(identity.expiresAt.getTime() + OWNER_GRACE_MS) });
    const record = createRecord(layout.record, {
      type: "sandbox-creating",
      data: { id, backend: "local", owner: identity.owner, expiresAt: identity.expiresAt.toISOString(), labels: sandboxLabels(identity, "tags", spec.tags), spec, host: { kernel: os.release(), arch: os.arch() }, ...(opts.recordMeta ? { meta: opts.recordMeta } : {}) },
    });
    if (spec.waived.length) safeAppend(record, "unsafe-waived", { flags: spec.waived.map((f) => `unsafe.${f}`) });
    let canaryEndpoint: CanaryEndpoint | undefined;
    // The owner's canary watcher starts now (python's startup overlaps with the rest of the creation).
    const releaseWatcher = spec.canaries.enabled ? prepareCanaryWatcher() : () => undefined;
    // Set once the guard exists; canary events before that cannot happen (nothing runs yet).
    let sandbox: LocalSandbox | undefined;
    try {
      await createDir(journal, layout.dir);
      progress("leasing addresses and uids");
      const hasTargets = spec.targets.length > 0;
      const net = await leaseSlash30(journal, id, spec.network.cidr, "sandbox");
      const svcNet = hasTargets ? await leaseSlash30(journal, id, spec.network.cidr, "services") : undefined;
      // Root or not, the workload gets a leased uid of its own on the host: "root" is uid 0 only inside
      // a user namespace that this uid creates (see confine.ts) — never host uid 0.
      const asRoot = spec.workload.user === "root";
      const uid = await leaseUid(journal, id, "workload");
      const svcUid = hasTargets ? await leaseUid(journal, id, "services") : undefined;
      // The gate's own uid: the host's nftables match it (meta skuid) to confine what the gate reaches.
      const gateUid = await leaseUid(journal, id, "gate");

      progress(`creating network namespace ${names.netns} (no default route, IPv6 off)`);
      await createBoundaryNetns(journal, names.netns);
      // The anchor, right after the namespace: it reads the namespace's counters for the guard, and
      // while it lives (it dies with this process) every sweeper on the host knows the sandbox is owned.
      const anchor = startNetnsAnchor({ netns: names.netns, name: names.anchorProcess, lifetimeSeconds: (identity.expiresAt.getTime() - Date.now() + OWNER_GRACE_MS) / 1000 });
      journal.record("process", `namespace anchor (pid ${anchor.process.pid})`, anchor.process);
      await createVethPair(journal, { hostIface: names.hostIface, netns: names.netns, alias: names.linkAlias, net });
      if (svcNet) {
        await createBoundaryNetns(journal, names.svcNetns);
        await createVethPair(journal, { hostIface: names.svcHostIface, netns: names.svcNetns, alias: names.linkAlias, net: svcNet });
      }

      // The canary endpoint is a socket of this (owner) process on the gate address; nftables must
      // know its port, so it starts before the rules.
      const canaries = spec.canaries.enabled;
      if (canaries) canaryEndpoint = await startCanaryEndpoint(net.hostAddress, (from, request) => sandbox?.guard.canaryTouched("canary-credential-used", { from, request }));
      const canaryUrl = canaryEndpoint ? `http://${net.hostAddress}:${canaryEndpoint.port}` : undefined;

      progress("loading nftables rules (sandbox namespace, host, targets)");
      const gate = spec.egressResolved.map((e) => ({ upstream: e.name, port: e.listenPort }));
      const routes = await planGateRoutes(spec.egressResolved, { listenAddress: net.hostAddress, targetAddress: svcNet?.innerAddress, confined: true });
      await applyTable(journal, { netns: names.netns, table: names.nftTable, ruleset: sandboxRuleset({ table: names.nftTable, hostAddress: net.hostAddress, gate, canaryPort: canaryEndpoint?.port }) });
      const hostPorts = [...new Set(routes.map((r) => r.bindPort)), ...(canaryEndpoint ? [canaryEndpoint.port] : [])];
      const gateRules = {
        uid: gateUid,
        upstreams: [...new Map(routes.map((r) => [`${r.address} ${r.port}`, { address: r.address, port: r.port }])).values()],
        dnat: routes.filter((r) => r.bindPort !== r.listenPort).map((r) => ({ listenPort: r.listenPort, bindPort: r.bindPort })),
      };
      await applyTable(journal, { table: names.nftTable, ruleset: hostRuleset({ table: names.nftTable, hostIface: names.hostIface, hostAddress: net.hostAddress, ports: hostPorts, svcIface: svcNet ? names.svcHostIface : undefined, gate: gateRules }) });
      if (svcNet) {
        const ports = [...new Set(spec.targets.map((t) => t.port))];
        await applyTable(journal, { netns: names.svcNetns, table: names.svcNftTable, ruleset: servicesRuleset({ table: names.svcNftTable, gateAddress: svcNet.hostAddress, ports }) });
      }

      // Sized to what the sandbox can really hold: tmpfs pages are charged to its memory limit, so a
      // larger size would only be a number the workload can read (a 20 GiB disk in a 256 MiB sandbox).
      const fsBytes = Math.min(spec.workloadDiskBytes, spec.workloadMemoryBytes);
      progress(`mounting the sandbox filesystem (tmpfs, ${Math.round(fsBytes / 1024 ** 2)} MiB = min(disk, memory))`);
      await mountTmpfs(journal, layout.fsRoot, { source: "tmpfs", sizeBytes: fsBytes });
      await mountDevpts(journal, layout.devpts, PTY_MAX);
      const user = { name: spec.workload.user, uid, gid: uid, home: asRoot ? "/root" : `/home/${spec.workload.user}`, ...(asRoot ? { rootInUserns: true } : {}) };
      for (const d of [layout.home, layout.work, layout.tmp]) {
        fs.mkdirSync(d, { mode: 0o700 });
        fs.chownSync(d, uid, uid);
      }
      fs.mkdirSync(layout.shm, { mode: 0o1777 });
      fs.chmodSync(layout.shm, 0o1777);
      for (const t of spec.targets) {
        const dirs = targetDirs(layout, t.name);
        for (const d of [dirs.root, dirs.work, dirs.tmp]) {
          fs.mkdirSync(d, { mode: 0o700 });
          fs.chownSync(d, svcUid!, svcUid!);
        }
        fs.mkdirSync(dirs.shm, { mode: 0o1777 });
        fs.chmodSync(dirs.shm, 0o1777);
      }
      let taskCopy: string | undefined;
      if (taskDir) {
        progress(`copying the task files into the sandbox (${taskDir} -> /opt/task)`);
        try {
          copyTree(taskDir, layout.task);
        } catch (e: any) {
          if (e.code === "ENOSPC") throw Object.assign(new Error(`the task files in ${taskDir} do not fit into the sandbox's filesystem (${Math.round(fsBytes / 1024 ** 2)} MiB = min(workload.disk, workload.memory))`), { hint: "raise workload.memory / workload.disk, or move large files out of the task directory" });
          throw e;
        }
        taskCopy = layout.task;
      }
      const upstreamHosts: [string, string[]][] = spec.egressResolved.length ? [[net.hostAddress, spec.egressResolved.map((e) => e.name)]] : [];
      const inside = asRoot ? 0 : uid; // the ids /etc/passwd shows: what the workload sees itself as
      writeEtc(path.join(layout.etcDir, "workload"), { user: user.name, uid: inside, gid: inside, home: user.home, hostname: spec.name, hosts: upstreamHosts });
      if (svcUid !== undefined) writeEtc(path.join(layout.etcDir, "targets"), { user: TARGET_USER, uid: svcUid, gid: svcUid, home: "/work", hostname: "service", hosts: [] });
      const seccomp = seccompSupported();
      if (seccomp) fs.writeFileSync(layout.seccompFile, workloadSeccompFilter(), { mode: 0o600 });
      else safeAppend(record, "seccomp-unavailable", { arch: os.arch(), note: "no seccomp filter for this architecture; user namespaces stay creatable inside" });
      const planted = canaries ? plantCanaries(layout.home, spec.canaries.files, spec.canaries.credential, canaryUrl!, { user: user.name, hostname: spec.name }) : [];

      progress(`creating cgroups (${spec.workload.cpus} CPU, ${spec.workload.memory}, ${spec.workload.pids} pids)`);
      const cgHost = detectCgroupHost();
      const cg = new Cgroup(cgHost, names.cgroup);
      await journal.apply("cgroup", `cgroup ${names.cgroup} (${cgHost.mode})`, cgroupRef(cg), () => cg.create());
      cg.setLimit("cpu", { quotaUs: Math.round(spec.workload.cpus * 100_000), periodUs: 100_000 });
      cg.setLimit("memory.max", spec.workloadMemoryBytes);
      cg.setLimit("pids.max", spec.workload.pids);
      // Socket buffers: on v1 outside memory.limit_in_bytes unless capped (88 loopback connections once
      // held 808 MiB of the host's shared TCP pool in a 256 MiB sandbox). Capped at the memory limit:
      // never more socket memory than the sandbox may use, as on v2.
      const socketMemory = cg.limitSocketMemory(spec.workloadMemoryBytes);
      let svcCg: Cgroup | undefined;
      if (svcNet) {
        svcCg = new Cgroup(cgHost, names.svcCgroup);
        await journal.apply("cgroup", `cgroup ${names.svcCgroup} (${cgHost.mode})`, cgroupRef(svcCg), () => svcCg!.create());
        svcCg.setLimit("cpu", { quotaUs: TARGET_LIMITS.cpus * 100_000, periodUs: 100_000 });
        svcCg.setLimit("memory.max", TARGET_LIMITS.memoryBytes);
        svcCg.setLimit("pids.max", TARGET_LIMITS.pids);
        svcCg.limitSocketMemory(TARGET_LIMITS.memoryBytes);
      }
      const gateCg = new Cgroup(cgHost, names.gateCgroup);
      await journal.apply("cgroup", `cgroup ${names.gateCgroup} (${cgHost.mode})`, cgroupRef(gateCg), () => gateCg.create());
      gateCg.setLimit("memory.max", GATE_LIMITS.memoryBytes);
      gateCg.setLimit("pids.max", GATE_LIMITS.pids);
      gateCg.limitSocketMemory(GATE_LIMITS.memoryBytes);

      progress(`starting the egress gate (${spec.egressResolved.length} listener(s) on ${net.hostAddress})`);
      const g = await startGate(journal, {
        id,
        processName: names.gateProcess,
        logFile: layout.gateLog,
        listenAddress: net.hostAddress,
        routes,
        confine: { uid: gateUid, cgroupProcs: cgroupProcsFiles(cgroupRef(gateCg)), seccompFile: seccomp ? layout.seccompFile : undefined, argv0: names.gateProcess },
        onLogRotated: (info) => safeAppend(record, "gate-log-rotated", { ...info, capBytes: GATE_LOG.capBytes }),
      });

      const handle: LocalSandboxHandle = {
        id,
        createdAt: new Date().toISOString(),
        expiresAt: identity.expiresAt.toISOString(),
        owner: identity.owner,
        spec,
        netns: names.netns,
        hostIface: names.hostIface,
        sandboxIface: INNER_IFACE,
        hostAddress: net.hostAddress,
        sandboxAddress: net.innerAddress,
        gate: { adminUrl: g.server.url, process: g.server.process, proxies: g.proxies, uid: gateUid, cgroup: cgroupRef(gateCg) },
        cgroup: cgroupRef(cg),
        record: layout.record,
        supervisor: selfRef(),
        state: "running",
        workloadUser: user,
        taskDir,
        taskCopy,
        devpts: layout.devpts,
        anchor: anchor.process,
        fsRoot: layout.fsRoot,
        seccomp,
        canaries: { files: planted.map((p) => p.rel), endpoint: canaryUrl },
        nft: { table: names.nftTable, allowedCounters: Object.fromEntries(spec.egressResolved.map((e, i) => [e.name, allowedCounter(i)])) },
        services:
          svcNet && svcCg
            ? {
                netns: names.svcNetns,
                hostIface: names.svcHostIface,
                hostAddress: svcNet.hostAddress,
                address: svcNet.innerAddress,
                cgroup: cgroupRef(svcCg),
                uid: svcUid!,
                targets: Object.fromEntries(spec.targets.map((t) => [t.name, { address: svcNet.innerAddress, port: t.port }])),
              }
            : undefined,
      };

      const guard = new SandboxGuard(handle, record, spec.killSwitch.rules, (t) => void sandbox?.kill(t));
      sandbox = new LocalSandbox(handle, record, journal, guard, canaryEndpoint);
      OWNED.set(id, sandbox);

      if (svcNet) {
        progress(`starting ${spec.targets.length} target(s)`);
        await startTargets(journal, handle, record);
      }

      progress("arming the guard (canaries, kill rules, ttl)");
      if (planted.length) {
        sandbox.canaryWatcher = await watchCanaries(
          planted,
          (t) => sandbox!.guard.canaryTouched("canary-touched", { file: t.file, events: t.events }),
          (why) => safeAppend(record, "guard-error", { error: why }),
        );
        // (The watcher is shared by every sandbox this process owns: it is not journaled as this
        // sandbox's to kill; it dies with its owner, and stop() below removes this sandbox's watches.)
      }
      releaseWatcher();
      guard.arm(anchor.process.pid);
      saveHandle(handle);
      safeAppend(record, "sandbox-ready", {
        netns: names.netns,
        hostIface: names.hostIface,
        addresses: { host: net.hostAddress, sandbox: net.innerAddress, targets: svcNet?.innerAddress },
        gate: Object.fromEntries(Object.entries(g.proxies).map(([k, p]) => [k, `${p.listen}${p.bind ? ` (bound at ${p.bind})` : ""} -> ${p.upstream}`])),
        gateConfinement: { uid: gateUid, cgroup: names.gateCgroup, limits: GATE_LIMITS, seccomp, egress: gateRules.upstreams.map((u) => `${u.address}:${u.port}`) },
        cgroup: { mode: cgHost.mode, path: names.cgroup },
        workloadUser: user,
        canaries: planted.map((p) => p.rel),
        killRules: spec.killSwitch.rules,
        seccomp,
        socketFamilies: seccomp ? socketPolicy() : "not filtered (no seccomp filter for this architecture)",
        limits: {
          filesystemBytes: fsBytes,
          socketMemory,
          openFiles: WORKLOAD_NOFILE,
          ptys: PTY_MAX,
          coreDumps: false,
        },
      });
      return sandbox;
    } catch (err) {
      safeAppend(record, "create-failed", { error: (err as Error).message });
      sandbox?.canaryWatcher?.stop();
      releaseWatcher();
      await canaryEndpoint?.close();
      OWNED.delete(id);
      const outcomes = await journal.undoAll();
      if (outcomes.every((o) => o.ok)) journal.close();
      safeAppend(record, "destroyed", { reason: "create failed", undone: outcomes.length, failed: outcomes.filter((o) => !o.ok).map((o) => `${o.step.label}: ${o.error}`) });
      try {
        record.seal({ outcome: "create-failed" });
      } catch {
        /* sealed already */
      }
      throw err;
    }
  }

  /**
   * Starts workload.command (output to the record, and to `tee` if given). Its `exited` resolves
   * after the guard has settled, so `killedBy` is final by then (e.g. an OOM the kernel acted on in
   * the workload's last milliseconds has been recorded and its rule applied).
   */
  startWorkload(tee?: { stdout?: Writable; stderr?: Writable }): ConfinedRun {
    if (this.workload) throw new Error(`sandbox ${this.id}: the workload was already started`);
    if (this.killedBy || this.destroying) throw new Error(`sandbox ${this.id} is ${this.killedBy ? "killed" : "being destroyed"}`);
    const command = this.handle.spec.workload.command;
    const run = startConfined(workloadConfinement(this.handle), command, { record: this.record, source: "workload", tee });
    this.journal.record("process", `workload (pid ${run.ref.pid})`, run.ref);
    safeAppend(this.record, "workload-started", { command, pid: run.ref.pid, uid: this.handle.workloadUser?.uid });
    const exited = run.exited.then(async (s: ExitStatus) => {
      await this.settle();
      safeAppend(this.record, "workload-exited", { status: s.status, code: s.code, signal: s.signal, killedBy: this.killedBy?.rule ?? null });
      return s;
    });
    exited.catch((e) => safeAppend(this.record, "workload-exited", { error: (e as Error).message }));
    this.workload = { ...run, exited };
    return this.workload;
  }

  /** Waits until the guard has looked at everything once more and any kill in progress is done. */
  async settle(): Promise<void> {
    await this.guard.settle().catch(() => undefined);
    await this.killing;
  }

  /** A kill rule fired: freeze and kill every process of the sandbox, record why. */
  kill(t: Trip): Promise<void> {
    if (!this.killing && !this.killedBy && !this.destroying) this.killing = this.freezeAndKill(t);
    return this.killing ?? Promise.resolve();
  }

  private async freezeAndKill(t: Trip): Promise<void> {
    this.killedBy = t;
    safeAppend(this.record, "kill", { rule: t.rule, detail: t.detail });
    const cg = cgroupOf(this.handle.cgroup);
    try {
      await cg.freeze();
      const frozen = cg.processes().length;
      const stats = cg.stats();
      await cg.kill();
      if (this.handle.services) await cgroupOf(this.handle.services.cgroup).kill();
      safeAppend(this.record, "killed", { rule: t.rule, processesKilled: frozen, cgroup: stats });
    } catch (e) {
      safeAppend(this.record, "kill-error", { error: (e as Error).message });
    }
    this.handle.state = "killed";
    this.handle.killed = { rule: t.rule, detail: t.detail, at: new Date().toISOString() };
    try {
      saveHandle(this.handle);
    } catch {
      /* being destroyed */
    }
    this.onKilled?.(t);
  }

  /** Whether any canary was touched or its credential used. */
  get canaryTouched(): boolean {
    return this.guard.canaryHits > 0;
  }

  /** Current egress counts (reads every counter). */
  egress(): Promise<EgressCounts> {
    return this.guard.refresh();
  }

  /** Undoes everything (idempotent; concurrent callers share one teardown) and seals the record. */
  destroy(reason: string): Promise<DestroyResult> {
    if (!this.destroying) this.destroying = this.teardown(reason);
    return this.destroying;
  }

  private async teardown(reason: string): Promise<DestroyResult> {
    this.guard.stop();
    this.canaryWatcher?.stop();
    this.handle.state = "destroying";
    try {
      saveHandle(this.handle);
    } catch {
      /* the directory may be gone */
    }
    safeAppend(this.record, "destroying", { reason });
    try {
      const egress = await this.guard.refresh();
      const host = await readCounters(undefined, this.handle.nft!.table);
      safeAppend(this.record, "final-counters", { egress, host, cgroup: cgroupOf(this.handle.cgroup).stats() });
    } catch (e) {
      safeAppend(this.record, "guard-error", { error: `final counters: ${(e as Error).message}` });
    }
    await this.canaryEndpoint?.close();
    // Kill first, so that no process can act while its boundary is taken apart.
    await cgroupOf(this.handle.cgroup)
      .kill()
      .catch(() => undefined);
    const outcomes = await this.journal.undoAll();
    const failed = outcomes.filter((o) => !o.ok);
    if (failed.length === 0) this.journal.close();
    OWNED.delete(this.id);
    safeAppend(this.record, "destroyed", {
      reason,
      undone: outcomes.length,
      failed: failed.map((o) => `${o.step.label}: ${o.error}`),
      killedBy: this.killedBy ?? null,
    });
    let head: string | undefined;
    try {
      head = this.record.seal({ reason, killedBy: this.killedBy?.rule ?? null });
    } catch {
      /* already sealed */
    }
    return { id: this.id, reason, record: this.record.file, head, failed };
  }
}
