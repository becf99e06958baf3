// One command inside a sandbox, for a control client: exactly the workload's confinement
// (startConfined + workloadConfinement: namespace, cgroup, uid, view, seccomp filter), with the
// request's environment, working directory, stdin, timeout and output caps applied through the
// launcher's own options — never through a shell or an `env K=V` prefix.
//
// Why a timeout kills everything the command started: each exec runs in its own pid namespace
// (bubblewrap), whose init dies with bwrap's monitor process (--die-with-parent); when a pid
// namespace's init dies the kernel kills every process in it. So SIGKILL to the one process we
// spawned ends the whole tree, daemonised children included — nothing can outlive its exec.
import * as fs from "fs";
import * as path from "path";
import type { HostSandbox } from "../sandbox";
import { startConfined } from "../process-run";
import { cgroupOf, workloadConfinement, WORK_MOUNT } from "../views";
import { recordDurable, safeAppend } from "../record";
import { TailBuffer } from "./capture";
import { ControlError, DEFAULT_OUTPUT_LIMIT, ExecRequest, ExecResult } from "./protocol";
import type { Confinement } from "../confine";

/** A path inside the sandbox: relative ones are under the working directory. */
export function sandboxPath(p: string | undefined, field: string): string {
  if (p === undefined || p === null || p === "") return WORK_MOUNT;
  if (typeof p !== "string" || p.includes("\0")) throw new ControlError("bad-request", `${field} must be a path without NUL bytes`);
  return path.posix.resolve(WORK_MOUNT, p);
}

/** The only user a sandbox has is its workload user (by name or uid); anything else is refused. */
export function checkUser(sb: HostSandbox, user: string | null | undefined): void {
  if (user === undefined || user === null || user === "") return;
  const u = sb.handle.workloadUser;
  if (u && (user === u.name || user === String(u.uid))) return;
  throw new ControlError(
    "unsupported-user",
    `sandbox ${sb.id} runs commands only as its workload user '${u?.name}' (uid ${u?.uid}); '${user}' does not exist there`,
    { hint: user === "root" ? "the local backend has no root inside a sandbox unless the spec sets workload.user: root (with unsafe.runAsRoot)" : `use user '${u?.name}' or leave it unset` },
  );
}

function checkEnv(env: unknown): Record<string, string> {
  if (env === undefined || env === null) return {};
  if (typeof env !== "object" || Array.isArray(env)) throw new ControlError("bad-request", "env must be an object of strings");
  for (const [k, v] of Object.entries(env as Record<string, unknown>)) {
    if (!/^[^=\0]+$/.test(k)) throw new ControlError("bad-request", `env: '${k}' is not a valid variable name (empty, or contains '=' or NUL)`);
    if (typeof v !== "string" || v.includes("\0")) throw new ControlError("bad-request", `env.${k} must be a string without NUL bytes`);
  }
  return env as Record<string, string>;
}

/** The workload's confinement with one exec's working directory and environment. */
export function execConfinement(sb: HostSandbox, cwd: string, env: Record<string, string>): Confinement {
  const base = workloadConfinement(sb.handle);
  const merged = { ...base.env, ...env };
  if ("PWD" in base.env && !("PWD" in env)) merged.PWD = cwd;
  return { ...base, cwd, env: merged };
}

/** setpriv's own message when it cannot exec the command (util-linux: 126 = cannot run, 127 = not found). */
function launchError(status: number, stderr: Buffer): ExecResult["launchError"] {
  if (status !== 126 && status !== 127) return null;
  const first = stderr.subarray(0, 512).toString().split("\n")[0];
  if (!first.startsWith("setpriv: failed to execute")) return null;
  if (/Permission denied|Operation not permitted/.test(first)) return "EACCES";
  if (/No such file or directory|Not a directory/.test(first)) return "ENOENT";
  return null;
}

/**
 * Lets the guard's pending events run before an answer goes out. A canary the command opened was
 * reported by inotify when it was opened — long before the command's exit and its pid namespace's
 * teardown closed the output pipes — so one turn of the event loop is enough for the guard to have
 * set `killedBy`. (HostSandbox.settle() would also re-read every counter, which spawns `nft`: tens
 * of ms per exec. Denied-egress and limit rules are left to the guard's 250 ms poll; a kill they
 * cause is reported by the next request.)
 */
export function afterGuardEvents(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** Processes an exec itself puts in the cgroup: the launcher (later bwrap's monitor), the namespace's init, the command, one child. */
const EXEC_OWN_PIDS = 4;
const PIDS_WAIT_MS = 2_000;

function readCgroupFile(dir: string, file: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dir, file), "utf8").trim();
  } catch {
    return undefined;
  }
}

/**
 * Waits, briefly, until the sandbox's pids cgroup has room for an exec's own processes. Why: the
 * kernel uncharges a dead task only when the task is freed, after an RCU grace period, so execs in
 * quick succession leave charges behind that drain within milliseconds (seconds on a loaded host).
 * Measured here: 200 sequential `true`s in a pids.max 64 sandbox pushed pids.current to 64 with no
 * process left in it; forks failed ("bwrap: Can't fork for pid 1") and the pids-limit kill rule
 * fired on a sandbox that did nothing wrong. A workload that is really at its limit still gets its
 * exec after the wait, and the rule applies to it as before.
 */
export async function waitForPidsHeadroom(sb: HostSandbox): Promise<void> {
  const cg = cgroupOf(sb.handle.cgroup);
  const dir = sb.handle.cgroup.mode === "v1" ? cg.dir("pids") : cg.dir();
  const deadline = Date.now() + PIDS_WAIT_MS;
  for (;;) {
    const max = Number(readCgroupFile(dir, "pids.max"));
    const current = Number(readCgroupFile(dir, "pids.current"));
    if (!Number.isFinite(max) || !Number.isFinite(current) || current + EXEC_OWN_PIDS <= max || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function validateExec(req: ExecRequest): void {
  if (!Array.isArray(req.cmd) || req.cmd.length === 0 || req.cmd.some((a) => typeof a !== "string" || a.includes("\0"))) {
    throw new ControlError("bad-request", "cmd must be a non-empty array of strings without NUL bytes");
  }
  if (req.input !== undefined && typeof req.input !== "string") throw new ControlError("bad-request", "input must be a base64 string");
  for (const f of ["timeoutMs", "outputLimit"] as const) {
    const v = req[f];
    if (v !== undefined && v !== null && !(typeof v === "number" && Number.isFinite(v) && v >= 0)) throw new ControlError("bad-request", `${f} must be a non-negative number`);
  }
}

/**
 * `abort`: the client went away (its connection closed: Inspect cancelled the sample, or gave up on
 * an answer that did not come and retries) or the sandbox was killed. The command is then killed as at
 * a timeout — SIGKILL to the one process spawned ends its pid namespace and everything in it — so no
 * abandoned command keeps running in the sandbox.
 */
export async function runExec(sb: HostSandbox, req: ExecRequest, abort?: AbortSignal): Promise<ExecResult> {
  validateExec(req);
  checkUser(sb, req.user);
  const cwd = sandboxPath(req.cwd, "cwd");
  const conf = execConfinement(sb, cwd, checkEnv(req.env));
  const limit = req.outputLimit ?? DEFAULT_OUTPUT_LIMIT;
  const out = new TailBuffer(limit);
  const err = new TailBuffer(limit);
  const input = req.input ? Buffer.from(req.input, "base64") : undefined;
  const started = performance.now();
  await waitForPidsHeadroom(sb);
  const run = startConfined(conf, req.cmd, { record: sb.record, source: "exec", stdin: input ? "pipe" : "ignore", tee: { stdout: out.sink(), stderr: err.sink() } });
  safeAppend(sb.record, "exec-started", {
    command: req.cmd,
    pid: run.ref.pid,
    cwd,
    envKeys: Object.keys(req.env ?? {}),
    inputBytes: input?.length ?? 0,
    timeoutMs: req.timeoutMs ?? null,
  });
  if (input && run.child.stdin) {
    run.child.stdin.on("error", () => undefined); // the command may exit without reading its input
    run.child.stdin.end(input);
  }
  let timedOut = false;
  const timer =
    req.timeoutMs !== undefined && req.timeoutMs !== null
      ? setTimeout(() => {
          timedOut = true;
          run.child.kill("SIGKILL");
        }, req.timeoutMs)
      : undefined;
  let aborted = false;
  const kill = () => {
    aborted = true;
    run.child.kill("SIGKILL");
  };
  if (abort?.aborted) kill();
  else abort?.addEventListener("abort", kill, { once: true });
  let status;
  try {
    status = await run.exited;
  } finally {
    if (timer) clearTimeout(timer);
    abort?.removeEventListener("abort", kill);
  }
  await afterGuardEvents();
  const durationMs = performance.now() - started;
  const stderr = err.bytes();
  safeAppend(sb.record, "exec-exited", { command: req.cmd, status: status.status, signal: status.signal, timedOut, ...(aborted ? { aborted: true } : {}), durationMs: Math.round(durationMs), stdoutBytes: out.dropped + out.bytes().length, stderrBytes: err.dropped + stderr.length });
  // The answer goes out only once the record holds this exec for good (its start, output and exit,
  // fsynced): with deferred writes (record.ts) the appends above were only queued.
  await recordDurable(sb.record);
  return {
    status: status.status,
    code: status.code,
    signal: status.signal,
    stdout: out.bytes().toString("base64"),
    stderr: stderr.toString("base64"),
    truncated: { stdout: out.dropped, stderr: err.dropped },
    timedOut,
    launchError: timedOut ? null : launchError(status.status, stderr),
    killed: null, // filled in by the server, which knows the record's head once the sandbox is gone
    durationMs,
  };
}
