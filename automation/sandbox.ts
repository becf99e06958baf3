// The Automation API for eval harnesses: one sandbox per call, one Pulumi stack per sandbox, always
// destroyed by withSandbox. Two paths with the same handle and outputs:
//   "pulumi"  the real engine (automation/engine.ts) runs an inline program built from the same
//             component as index.ts (components/backends.ts buildSandbox), in a stack named from the
//             spec and a unique suffix, in a file backend (default) or any backend URL;
//   "direct"  backend local only: the library path (the shared supervisor creates and owns the
//             sandbox exactly as `airlock sandbox create` and the local provider do), no CLI needed.
// engine "auto" (the default) takes "pulumi" when a CLI is found, else "direct" for backend local.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as crypto from "crypto";
import { PassThrough } from "stream";
import type { Stack } from "@pulumi/pulumi/automation";
import { parseSpec, SandboxSpec, SandboxSpecInput } from "../components/spec";
import { identityFor, shortHash } from "../components/naming";
import { findPulumi, requirePulumi, engineEnv, pulumiCommand, PROJECT_ROOT, PulumiEngine } from "./engine";
import { defaultHarnessName, setStackTags, tagsAfterCreate, tagsBeforeCreate } from "./stack-tags";
import { scopedSignal } from "./scoped-signal";
import { destroyWithRetry } from "./destroy-retry";

export type EngineChoice = "auto" | "pulumi" | "direct";

export interface SandboxOptions {
  /** Which path creates the sandbox (see the file header). Default "auto". */
  engine?: EngineChoice;
  /** Pulumi state backend URL (e.g. s3://bucket, https://api.pulumi.com); default a file backend in `stateDir`. */
  backendUrl?: string;
  /** Folder of the default file backend; default ~/.airlock/automation/state (created 0700). */
  stateDir?: string;
  /** Host folder mounted read-only at /opt/task (local backend). */
  taskDir?: string;
  /** Stack name; default `<spec.name>-<8 hex random>`. */
  stackName?: string;
  /** Aborting stops waiting and destroys the sandbox as soon as it exists. */
  signal?: AbortSignal;
  /** Engine output lines and steps, for logs. */
  onOutput?: (line: string) => void;
  /** Names the harness in the stack's `airlock:harness` tag (automation/stack-tags.ts); default the running script's file name. */
  harness?: string;
}

/** What a created sandbox is, the same on both paths (the names of index.ts's stack outputs). */
export interface SandboxOutputs {
  sandboxId: string;
  backend: string;
  /** ISO time after which the sandbox is removed by its owner or `airlock sweep`. */
  expiresAt: string;
  /** Where the sandbox's immutable record is (local: the JSONL file). */
  recordLocation: string;
  /** Gate listener per allowed upstream, as the workload sees it (host:port). */
  gateEndpoints: Record<string, string>;
  waivedSafetyDefaults: string[];
}

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface Sandbox {
  readonly outputs: SandboxOutputs;
  readonly spec: SandboxSpec;
  /** "pulumi" or "direct". */
  readonly via: Exclude<EngineChoice, "auto">;
  /** The sandbox's Pulumi stack (path "pulumi"). */
  readonly stackName?: string;
  /** Runs a command inside the sandbox (local backend), as `airlock sandbox exec` does. */
  exec(command: string[] | string): Promise<ExecResult>;
}

interface Internal extends Sandbox {
  destroyImpl(): Promise<void>;
  destroyed?: Promise<void>;
}

const LIVE = new Set<Internal>();
/** Aborted on SIGINT/SIGTERM: creates under way stop (the engine cancels its update) and no sample starts. */
const SHUTDOWN = new AbortController();
/** Creations under way: a signal during a create waits for it, then destroys what it made. */
const PENDING = new Set<Promise<Internal>>();

function toSpec(spec: SandboxSpec | SandboxSpecInput): SandboxSpec {
  return "waived" in spec && "ttlMs" in spec ? (spec as SandboxSpec) : parseSpec(spec, "createSandbox spec");
}

function defaultStateDir(): string {
  const dir = path.join(os.homedir(), ".airlock", "automation", "state");
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : Object.assign(new Error(`aborted${signal.reason ? `: ${signal.reason}` : ""}`), { name: "AbortError" });
}

async function execLocal(id: string, command: string[] | string): Promise<ExecResult> {
  const { execInSandbox } = await import("../components/local/sandbox-exec");
  const argv = typeof command === "string" ? ["sh", "-c", command] : command;
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = "";
  let stderr = "";
  out.on("data", (d) => (stdout += d));
  err.on("data", (d) => (stderr += d));
  const status = await execInSandbox(id, argv, { stdout: out, stderr: err });
  return { code: status.code ?? null, signal: (status as any).signal ?? null, stdout, stderr };
}

function chooseEngine(spec: SandboxSpec, choice: EngineChoice): { via: "pulumi" | "direct"; engine?: PulumiEngine } {
  if (choice === "direct") {
    if (spec.backend !== "local") throw Object.assign(new Error(`engine: "direct" is only for backend local (spec.backend is ${spec.backend})`), { hint: `use engine: "pulumi" (the default) for ${spec.backend}` });
    return { via: "direct" };
  }
  if (choice === "pulumi") return { via: "pulumi", engine: requirePulumi() };
  const engine = findPulumi();
  if (engine) return { via: "pulumi", engine };
  if (spec.backend === "local") return { via: "direct" };
  return { via: "pulumi", engine: requirePulumi() }; // throws: how to install one
}

async function createDirect(spec: SandboxSpec, o: SandboxOptions): Promise<Internal> {
  const { supervisedCreate } = await import("../components/local/supervisor-client");
  const { destroySandboxById } = await import("../components/local/lifecycle");
  const { checkHost } = await import("../components/local/sandbox");
  checkHost();
  const identity = identityFor(spec);
  const handle = await supervisedCreate(spec, { identity, taskDir: o.taskDir ? path.resolve(o.taskDir) : undefined, startWorkload: true, progress: o.onOutput });
  const outputs: SandboxOutputs = {
    sandboxId: handle.id,
    backend: spec.backend,
    expiresAt: handle.expiresAt,
    recordLocation: handle.record,
    gateEndpoints: Object.fromEntries(Object.entries(handle.gate.proxies).map(([name, p]) => [name, p.listen])),
    waivedSafetyDefaults: [...spec.waived],
  };
  return {
    outputs,
    spec,
    via: "direct",
    exec: (command) => execLocal(handle.id, command),
    async destroyImpl() {
      try {
        await destroySandboxById(handle.id, "automation destroySandbox");
      } catch (e: any) {
        if (!/no local sandbox/.test(String(e?.message))) throw e;
      }
    },
  };
}

/** The inline program: the same component as index.ts, from the spec instead of stack config. */
function programFor(spec: SandboxSpec, stackName: string) {
  return async () => {
    const pulumi = await import("@pulumi/pulumi");
    const { buildSandbox } = await import("../components/backends");
    const identity = identityFor(spec, { uniqueSuffix: shortHash(`${pulumi.getOrganization()}/${pulumi.getProject()}/${stackName}`) });
    if (spec.waived.length > 0) pulumi.log.warn(`UNSAFE: this sandbox opts out of safety defaults: ${spec.waived.map((f) => `unsafe.${f}`).join(", ")}`);
    const sb = buildSandbox(spec.name, { spec, identity });
    return { sandboxId: sb.sandboxId, backend: spec.backend, expiresAt: sb.expiresAt, recordLocation: sb.recordLocation, gateEndpoints: sb.gateEndpoints, waivedSafetyDefaults: spec.waived };
  };
}

async function createThroughEngine(spec: SandboxSpec, engine: PulumiEngine, o: SandboxOptions): Promise<Internal> {
  const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
  const stackName = o.stackName ?? `${spec.name}-${crypto.randomBytes(4).toString("hex")}`;
  const stateDir = o.backendUrl ? undefined : (o.stateDir ?? defaultStateDir());
  // A private working folder per stack (the engine writes the stack's settings there; removed with it).
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `airlock-auto-${stackName}-`));
  const env = engineEnv(engine, { backendUrl: o.backendUrl, stateDir, home: path.join(workDir, ".pulumi-home") });
  let stack: Stack | undefined;
  const onOutput = (s: string) => o.onOutput?.(s);
  const teardown = async () => {
    // Kept when the destroy gives up: the stack's settings in it are what a later destroy needs.
    // Only the sweep is named: it is the tested way to remove an expired sandbox (and, on a cloud, the
    // stack that owns it); the stack's folder is kept for whoever looks into it.
    if (stack) await destroyWithRetry(stack, stackName, { onOutput, byHand: `\`airlock sweep --backend ${spec.backend}\` once the sandbox has expired, with PULUMI_BACKEND_URL=${env.PULUMI_BACKEND_URL} (stack '${stackName}'; its folder ${workDir} is kept)` });
    fs.rmSync(workDir, { recursive: true, force: true });
  };
  try {
    stack = await LocalWorkspace.createOrSelectStack(
      { stackName, projectName: "airlock", program: programFor(spec, stackName) },
      { workDir, pulumiCommand: await pulumiCommand(engine), envVars: env, projectSettings: { name: "airlock", runtime: "nodejs" } },
    );
    if (o.taskDir) await stack.setConfig("airlock:localTaskDir", { value: path.resolve(o.taskDir) });
    await setStackTags(stack, tagsBeforeCreate(spec, o.harness ?? defaultHarnessName()));
    // A signal of this call only (automation/scoped-signal.ts: Pulumi never removes its listener).
    const upSignal = scopedSignal(o.signal, SHUTDOWN.signal);
    let up: Awaited<ReturnType<Stack["up"]>>;
    try {
      up = await stack.up({ onOutput, signal: upSignal.signal });
    } finally {
      upSignal.release();
    }
    const v = (k: string) => up.outputs[k]?.value;
    const outputs: SandboxOutputs = {
      sandboxId: v("sandboxId"),
      backend: v("backend"),
      expiresAt: v("expiresAt"),
      recordLocation: v("recordLocation"),
      gateEndpoints: v("gateEndpoints") ?? {},
      waivedSafetyDefaults: v("waivedSafetyDefaults") ?? [],
    };
    await setStackTags(stack, tagsAfterCreate(outputs));
    return {
      outputs,
      spec,
      via: "pulumi",
      stackName,
      exec: (command) => {
        if (spec.backend !== "local") throw new Error(`sandbox.exec: backend ${spec.backend} has no exec through Airlock yet (local only)`);
        return execLocal(outputs.sandboxId, command);
      },
      destroyImpl: teardown,
    };
  } catch (e) {
    // A failed or aborted `up` may have created part of the stack: take down what exists.
    await teardown().catch((t) => onOutput(`cleanup after a failed create also failed: ${(t as Error).message}\n`));
    throw e;
  }
}

/** Creates a sandbox; the caller must call destroySandbox (withSandbox does it for you). */
export async function createSandbox(specInput: SandboxSpec | SandboxSpecInput, options: SandboxOptions = {}): Promise<Sandbox> {
  const spec = toSpec(specInput); // bad input: every problem, named, before anything is created
  if (options.signal?.aborted) throw abortError(options.signal);
  const { via, engine } = chooseEngine(spec, options.engine ?? "auto");
  installSignalHandlers();
  const pending = via === "direct" ? createDirect(spec, options) : createThroughEngine(spec, engine!, options);
  PENDING.add(pending);
  let sb: Internal;
  try {
    sb = await pending;
  } finally {
    PENDING.delete(pending);
  }
  LIVE.add(sb);
  for (const signal of [options.signal, SHUTDOWN.signal]) {
    if (!signal?.aborted) continue;
    await destroySandbox(sb);
    throw abortError(signal);
  }
  return sb;
}

/** Destroys a sandbox (and removes its stack). Idempotent; concurrent calls share one destroy. */
export async function destroySandbox(sandbox: Sandbox): Promise<void> {
  const sb = sandbox as Internal;
  sb.destroyed ??= sb.destroyImpl().finally(() => LIVE.delete(sb));
  return sb.destroyed;
}

/**
 * Creates a sandbox, runs `fn` with it, and always destroys it — on return, on a throw, on an abort of
 * `options.signal`, on SIGINT/SIGTERM of this process — then returns the sandbox's outputs and fn's value.
 */
export async function withSandbox<T>(spec: SandboxSpec | SandboxSpecInput, fn: (sandbox: Sandbox, signal: AbortSignal) => Promise<T>, options: SandboxOptions = {}): Promise<{ outputs: SandboxOutputs; result: T }> {
  const sb = await createSandbox(spec, options);
  const local = new AbortController();
  const onAbort = () => local.abort(options.signal!.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const result = await Promise.race([
      fn(sb, local.signal),
      new Promise<never>((_, reject) => {
        if (local.signal.aborted) reject(abortError(local.signal));
        local.signal.addEventListener("abort", () => reject(abortError(local.signal)), { once: true });
      }),
    ]);
    return { outputs: sb.outputs, result };
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    local.abort("sandbox done");
    await destroySandbox(sb);
  }
}

export type ProgressEvent =
  | { kind: "created"; index: number; name: string; outputs: SandboxOutputs }
  | { kind: "running"; index: number; name: string }
  | { kind: "destroyed"; index: number; name: string; ms: number }
  | { kind: "failed"; index: number; name: string; reason: string };

export interface RunManySummary<T> {
  total: number;
  succeeded: number;
  failed: number;
  wallMs: number;
  results: ({ index: number; name: string; ok: true; outputs: SandboxOutputs; result: T } | { index: number; name: string; ok: false; reason: string; outputs?: SandboxOutputs })[];
}

/** Runs fn in a fresh sandbox per spec, at most `concurrency` at once; every sandbox is destroyed. */
export async function runMany<T>(
  specs: (SandboxSpec | SandboxSpecInput)[],
  options: SandboxOptions & { concurrency?: number; onProgress?: (e: ProgressEvent) => void },
  fn: (sandbox: Sandbox, index: number, signal: AbortSignal) => Promise<T>,
): Promise<RunManySummary<T>> {
  const parsed = specs.map((s, i) => {
    try {
      return toSpec(s);
    } catch (e) {
      throw Object.assign(e as Error, { message: `specs[${i}]: ${(e as Error).message}` });
    }
  });
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const started = Date.now();
  const results: RunManySummary<T>["results"] = [];
  const emit = (e: ProgressEvent) => options.onProgress?.(e);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < parsed.length; i = next++) {
      const spec = parsed[i];
      let outputs: SandboxOutputs | undefined;
      let createdAt = 0;
      try {
        if (options.signal?.aborted) throw abortError(options.signal);
        const r = await withSandbox(
          spec,
          async (sb, signal) => {
            outputs = sb.outputs;
            createdAt = Date.now();
            emit({ kind: "created", index: i, name: spec.name, outputs: sb.outputs });
            emit({ kind: "running", index: i, name: spec.name });
            return fn(sb, i, signal);
          },
          options,
        );
        emit({ kind: "destroyed", index: i, name: spec.name, ms: Date.now() - createdAt });
        results.push({ index: i, name: spec.name, ok: true, outputs: r.outputs, result: r.result });
      } catch (e) {
        const reason = (e as Error)?.message ?? String(e);
        emit({ kind: "failed", index: i, name: spec.name, reason });
        results.push({ index: i, name: spec.name, ok: false, reason, outputs });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, parsed.length) }, worker));
  results.sort((a, b) => a.index - b.index);
  const succeeded = results.filter((r) => r.ok).length;
  return { total: parsed.length, succeeded, failed: results.length - succeeded, wallMs: Date.now() - started, results };
}

// SIGINT/SIGTERM while sandboxes are live: destroy them all, then exit as the signal would have.
// And a harness whose event loop runs dry while sandboxes are live (a callback awaiting a promise that
// nothing will settle): Node would exit 0 and leave them running until their TTL (found by
// test/automation.test.ts) — "beforeExit" destroys them first; the process then exits as it would have.
let handlersInstalled = false;
function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("beforeExit", () => {
    if (LIVE.size === 0 && PENDING.size === 0) return;
    void Promise.allSettled([...PENDING]).then(() => Promise.allSettled([...LIVE].map((sb) => destroySandbox(sb))));
  });
  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.on(sig, () => {
      if (LIVE.size === 0 && PENDING.size === 0 && process.listenerCount(sig) > 1) return; // someone else handles it
      SHUTDOWN.abort(new Error(`${sig}: destroying this process's sandboxes`));
      void Promise.allSettled([...PENDING])
        .then(() => Promise.allSettled([...LIVE].map((sb) => destroySandbox(sb))))
        .finally(() => process.exit(code));
    });
  }
}

/** Sandboxes this process created and has not destroyed yet. */
export function liveSandboxes(): Sandbox[] {
  return [...LIVE];
}

export { PROJECT_ROOT };
