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
import { selfRef } from "../host/process";
import type { ChainLog } from "../record/chain-log";
import { identityFor, SandboxIdentity, sandboxLabels } from "../naming";
import type { SandboxSpec } from "../spec/schema";
import { LocalSandboxHandle, saveHandle } from "./handle";
import { hostNames, INNER_IFACE } from "./names";
import { sandboxLayout } from "./layout";
import { readCounters, allowedCounter } from "./nft";
import { createDir } from "./hostfs";
import { WORKLOAD_NOFILE } from "./confine";
import { socketPolicy } from "./seccomp";
import { canaryList, MAX_CANARY_FILES, prepareCanaryWatcher, watchCanaries, CanaryEndpoint, CanaryFile, CanaryWatcher } from "./canary";
import { GATE_LIMITS } from "./gate-confine";
import { startTargets } from "./targets";
import { SandboxGuard, Trip, EgressCounts } from "./guard";
import { createRecord, safeAppend } from "./record";
import { startConfined, ConfinedRun, ExitStatus } from "./process-run";
import { cgroupOf, workloadConfinement } from "./views";
import { buildBoundary, buildFilesystem, createCgroups, loadFirewall, runStep, sandboxHandle, startSandboxGate, CreateContext, StepName, PTY_MAX } from "./create-steps";
import type { Writable } from "stream";
import { spawnSync } from "child_process";

export { PTY_MAX, TARGET_LIMITS } from "./create-steps";

export const JOURNAL_PURPOSE = "local-sandbox";
/** Host tools the local backend runs (each maps to a Debian package in TOOL_PACKAGES). */
export const REQUIRED_TOOLS = ["ip", "nft", "bwrap", "nsenter", "setpriv", "unshare", "flock", "sysctl", "mount", "umount", "python3", "toxiproxy-server"];
/** How long after expiry a hung owner is still left alone by recovery (its own timer fires first). */
export const OWNER_GRACE_MS = 60_000;

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
  /** Milliseconds per phase of the teardown: final counters, kill, and each undo kind (summed). */
  timings: Record<string, number>;
}

/** Sandboxes owned by this process, by id. */
const OWNED = new Map<string, HostSandbox>();

export function ownedSandbox(id: string): HostSandbox | undefined {
  return OWNED.get(id);
}

export function ownedSandboxes(): HostSandbox[] {
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

export class HostSandbox {
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

  /** Milliseconds each step of create took (create-steps.ts), for the record and the bench. */
  createTimings: Partial<Record<StepName, number>> = {};

  static async create(spec: SandboxSpec, opts: CreateOptions = {}): Promise<HostSandbox> {
    if (spec.backend !== "local") throw new Error(`spec backend is '${spec.backend}', not local`);
    checkHost();
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
    const undos: (() => void | Promise<void>)[] = [];
    const ctx: CreateContext = { spec, identity, id, names, layout, journal, record, taskDir, progress: opts.progress ?? (() => undefined), timings: {}, onUndo: (u) => void undos.push(u) };
    // The owner's canary watcher starts now (python's startup overlaps with the rest of the creation).
    const releaseWatcher = spec.canaries.enabled ? prepareCanaryWatcher() : () => undefined;
    ctx.onUndo(releaseWatcher);
    // Set once the guard exists; canary events before that cannot happen (nothing runs yet).
    let sandbox: HostSandbox | undefined;
    try {
      await createDir(journal, layout.dir);
      const b = await runStep(ctx, "boundary", () => buildBoundary(ctx, OWNER_GRACE_MS));
      const fw = await runStep(ctx, "firewall", () => loadFirewall(ctx, b, (from, request) => sandbox?.guard.canaryTouched("canary-credential-used", { from, request })));
      const files = await runStep(ctx, "filesystem", () => buildFilesystem(ctx, b, fw));
      const cgs = await runStep(ctx, "cgroups", () => createCgroups(ctx, b));
      const gate = await runStep(ctx, "gate", () => startSandboxGate(ctx, b, fw, files, cgs));
      const allowedCounters = Object.fromEntries(spec.egressResolved.map((e, i) => [e.name, allowedCounter(i)]));
      const handle = sandboxHandle(ctx, b, fw, files, cgs, gate, { supervisor: selfRef(), sandboxIface: INNER_IFACE, allowedCounters });

      const guard = new SandboxGuard(handle, record, spec.killSwitch.rules, (t) => void sandbox?.kill(t));
      sandbox = new HostSandbox(handle, record, journal, guard, fw.canaryEndpoint);
      OWNED.set(id, sandbox);
      ctx.onUndo(() => void OWNED.delete(id));

      if (b.svcNet) {
        await runStep(ctx, "targets", async () => {
          ctx.progress(`starting ${spec.targets.length} target(s)`);
          await startTargets(journal, handle, record);
        });
      }
      await runStep(ctx, "guard", () => sandbox!.armGuard(ctx, files.planted, b.anchor.process.pid));
      releaseWatcher();
      sandbox.createTimings = ctx.timings;
      saveHandle(handle);
      safeAppend(record, "sandbox-ready", {
        netns: names.netns,
        hostIface: names.hostIface,
        addresses: { host: b.net.hostAddress, sandbox: b.net.innerAddress, targets: b.svcNet?.innerAddress },
        gate: Object.fromEntries(Object.entries(gate.proxies).map(([k, p]) => [k, `${p.listen}${p.bind ? ` (bound at ${p.bind})` : ""} -> ${p.upstream}`])),
        gateConfinement: { uid: b.gateUid, cgroup: names.gateCgroup, limits: GATE_LIMITS, seccomp: files.seccomp, egress: fw.gateRules.upstreams.map((u) => `${u.address}:${u.port}`) },
        cgroup: { mode: cgs.host.mode, path: names.cgroup },
        workloadUser: files.user,
        canaries: files.planted.map((p) => p.rel),
        killRules: spec.killSwitch.rules,
        seccomp: files.seccomp,
        socketFamilies: files.seccomp ? socketPolicy() : "not filtered (no seccomp filter for this architecture)",
        limits: {
          filesystemBytes: files.fsBytes,
          socketMemory: cgs.socketMemory,
          openFiles: WORKLOAD_NOFILE,
          ptys: PTY_MAX,
          coreDumps: false,
        },
        createMs: ctx.timings,
      });
      return sandbox;
    } catch (err) {
      safeAppend(record, "create-failed", { error: (err as Error).message });
      // This process's own parts first (watches, endpoint, the OWNED entry), then every journaled step.
      for (const undo of undos.reverse()) await Promise.resolve().then(undo).catch(() => undefined);
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

  /** The guard step: canary watches (the owner's shared watcher), kill rules, the ttl. */
  private async armGuard(ctx: CreateContext, planted: CanaryFile[], anchorPid: number): Promise<void> {
    ctx.progress("arming the guard (canaries, kill rules, ttl)");
    if (planted.length) {
      this.canaryWatcher = await watchCanaries(
        planted,
        (t) => this.guard.canaryTouched("canary-touched", { file: t.file, events: t.events }),
        (why) => safeAppend(this.record, "guard-error", { error: why }),
      );
      // (The watcher is shared by every sandbox this process owns: it is not journaled as this
      // sandbox's to kill; it dies with its owner, and stop() removes this sandbox's watches.)
      ctx.onUndo(() => this.canaryWatcher?.stop());
    }
    this.guard.arm(anchorPid);
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
    const timings: Record<string, number> = {};
    let t0 = process.hrtime.bigint();
    const lap = (name: string) => {
      const now = process.hrtime.bigint();
      timings[name] = (timings[name] ?? 0) + Number(now - t0) / 1e6;
      t0 = now;
    };
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
      // Both reads at once (each is one `nft` spawn).
      const [egress, host] = await Promise.all([this.guard.refresh(), readCounters(undefined, this.handle.nft!.table)]);
      safeAppend(this.record, "final-counters", { egress, host, cgroup: cgroupOf(this.handle.cgroup).stats() });
    } catch (e) {
      safeAppend(this.record, "guard-error", { error: `final counters: ${(e as Error).message}` });
    }
    lap("final-counters");
    await this.canaryEndpoint?.close();
    // Kill first, so that no process can act while its boundary is taken apart.
    await cgroupOf(this.handle.cgroup)
      .kill()
      .catch(() => undefined);
    lap("kill");
    const outcomes = await this.journal.undoAll();
    for (const o of outcomes) timings[`undo ${o.step.kind}`] = (timings[`undo ${o.step.kind}`] ?? 0) + o.ms;
    lap("undo");
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
    lap("seal");
    return { id: this.id, reason, record: this.record.file, head, failed, timings };
  }
}
