// Talking to the shared supervisor (supervisor.ts), which owns every *detached* local sandbox —
// those made by `airlock sandbox create` and by the Pulumi provider, which must outlive the process
// that asked for them. One supervisor per state directory; started on demand; exits when it owns
// nothing.
//
// Where it listens: a Unix socket in <state>/supervisor/ (0700 root: the directory's permissions are
// the access control; no sandbox ever has this directory in view — anchors.md: never hand the
// workload a control socket). Which process may be the supervisor: the one holding an abstract
// socket named after the state directory, which the kernel releases when the process dies, so
// two supervisors can never run for one state directory and a crashed one never blocks the next.
//
// Protocol: one JSON request line; the answer is zero or more {"progress": "..."} lines and one
// final {"ok": true, ...} or {"ok": false, "error", "hint"} line.
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { spawn } from "child_process";
import { statePath, stateDir } from "../host/state";
import { isAlive, ProcessRef } from "../host/process";
import { shortHash } from "../naming";
import type { SandboxSpec } from "../spec/schema";
import type { LocalSandboxHandle } from "./handle";

export const SUPERVISOR_TITLE = "airlock-supervisor";

export function supervisorDir(): string {
  return statePath("supervisor");
}

export function supervisorPaths() {
  const dir = supervisorDir();
  return {
    socket: path.join(dir, "control.sock"),
    info: path.join(dir, "supervisor.json"),
    log: path.join(dir, "supervisor.log"),
    /** Abstract socket (leading NUL): held by the one live supervisor of this state dir. */
    lock: `\0airlock-supervisor-lock-${shortHash(path.resolve(stateDir()), 12)}`,
  };
}

export interface SupervisorInfo {
  process: ProcessRef;
  startedAt: string;
}

/** The running supervisor of this state dir, if any. */
export function runningSupervisor(): SupervisorInfo | undefined {
  try {
    const info: SupervisorInfo = JSON.parse(fs.readFileSync(supervisorPaths().info, "utf8"));
    return isAlive(info.process) ? info : undefined;
  } catch {
    return undefined;
  }
}

export type SupervisorRequest =
  | { op: "ping" }
  | { op: "create"; spec: SandboxSpec; identity: { id: string; expiresAt: string; owner: string }; taskDir?: string; startWorkload: boolean }
  | { op: "destroy"; id: string; reason: string }
  /**
   * `airlock sandbox exec` through the supervisor, which already has the sandbox's record open and
   * its lock helper running, so the CLI loads and spawns nothing but a socket. After the request
   * line the client may send {"stdin": base64} lines and one {"stdinEnd": true}; the supervisor
   * sends {"out": "stdout"|"stderr", "data": base64} lines, then {"ok": true, "status": ExitStatus}.
   * The command is killed when the connection closes first (its caller died or was interrupted).
   */
  | { op: "exec"; id: string; command: string[]; stdin: boolean };

/** One framed output chunk or the final answer of an exec. */
export type ExecFrame = { out: "stdout" | "stderr"; data: string } | { ok: true; status: { code: number | null; signal: NodeJS.Signals | null; status: number } };

export class SupervisorError extends Error {
  constructor(
    message: string,
    public readonly hint?: string,
  ) {
    super(message);
    this.name = "SupervisorError";
  }
}

/**
 * Calls `onMessage` with each newline-delimited JSON message the supervisor sends on `sock` (the
 * framing of every request's answer).
 */
function onMessages(sock: net.Socket, onMessage: (msg: any) => void): void {
  let buf = "";
  sock.on("data", (d) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      onMessage(JSON.parse(line));
    }
  });
}

/** The supervisor's refusal of a request, as the error the CLI shows. */
function refusal(msg: { error?: string; hint?: string }): SupervisorError {
  return new SupervisorError(msg.error ?? "the supervisor refused the request", msg.hint);
}

/** A socket error, as the error the CLI shows (with the errno code kept for callers that retry). */
function unreachable(e: NodeJS.ErrnoException): SupervisorError {
  return Object.assign(new SupervisorError(`cannot reach the supervisor: ${e.code ?? e.message}`), { code: e.code });
}

/** Sends one request and collects the final answer; progress lines go to `progress`. */
function request(req: SupervisorRequest, progress?: (m: string) => void, timeoutMs = 120_000): Promise<any> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(supervisorPaths().socket);
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      fn();
    };
    const timer = setTimeout(() => finish(() => reject(new SupervisorError(`the supervisor did not answer '${req.op}' within ${timeoutMs / 1000} s`, `see ${supervisorPaths().log}`))), timeoutMs);
    sock.on("connect", () => sock.write(JSON.stringify(req) + "\n"));
    onMessages(sock, (msg) => {
      if (typeof msg.progress === "string") progress?.(msg.progress);
      else if (msg.ok) finish(() => resolve(msg));
      else finish(() => reject(refusal(msg)));
    });
    sock.on("error", (e: NodeJS.ErrnoException) => finish(() => reject(unreachable(e))));
    sock.on("close", () => finish(() => reject(new SupervisorError("the supervisor closed the connection without an answer", `see ${supervisorPaths().log}`))));
  });
}

/** Is the supervisor of this state dir the one that owns a sandbox (by its handle's supervisor ref)? */
export function supervisorOwns(owner: ProcessRef | undefined): boolean {
  const running = owner && runningSupervisor();
  return !!running && running.process.pid === owner!.pid && running.process.startTime === owner!.startTime;
}

/**
 * Runs a command in a supervised sandbox through the supervisor (see the "exec" request): output is
 * copied to `io` as it arrives, piped `stdin` is forwarded; resolves with the command's exit status.
 */
export function supervisedExec(
  id: string,
  command: string[],
  io: { stdin?: NodeJS.ReadableStream; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<{ code: number | null; signal: NodeJS.Signals | null; status: number }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(supervisorPaths().socket);
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      io.stdin?.unpipe();
      io.stdin?.removeListener("data", forward);
      io.stdin?.removeListener("end", endInput);
      if (io.stdin && "pause" in io.stdin) io.stdin.pause();
      sock.end();
      fn();
    };
    const forward = (d: Buffer) => sock.write(JSON.stringify({ stdin: Buffer.from(d).toString("base64") }) + "\n");
    const endInput = () => sock.write(JSON.stringify({ stdinEnd: true }) + "\n");
    sock.on("connect", () => {
      sock.write(JSON.stringify({ op: "exec", id, command, stdin: !!io.stdin } satisfies SupervisorRequest) + "\n");
      if (io.stdin) {
        io.stdin.on("data", forward);
        io.stdin.once("end", endInput);
      }
    });
    onMessages(sock, (msg) => {
      if (msg.out === "stdout" || msg.out === "stderr") (msg.out === "stdout" ? io.stdout : io.stderr).write(Buffer.from(msg.data, "base64"));
      else if (msg.ok) finish(() => resolve(msg.status));
      else finish(() => reject(refusal(msg)));
    });
    sock.on("error", (e: NodeJS.ErrnoException) => finish(() => reject(unreachable(e))));
    sock.on("close", () => finish(() => reject(new SupervisorError("the supervisor closed the connection before the command ended", `see ${supervisorPaths().log}`))));
  });
}

/** Starts a supervisor; resolves `exited` if it exits (it lost the start race, or failed). */
function spawnSupervisor(): { exited: Promise<number | null> } {
  const { log } = supervisorPaths();
  const out = fs.openSync(log, "a", 0o600);
  const entry = path.join(__dirname, "supervisor.ts");
  const runner = path.join(__dirname, "..", "..", "bin", "run-ts.js");
  const child = spawn(process.execPath, [runner, entry], { detached: true, stdio: ["ignore", out, out], cwd: "/", env: process.env });
  fs.closeSync(out);
  child.unref();
  return { exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))) };
}

/** Makes sure a supervisor runs (starting one if needed) and answers; returns its info. */
export async function ensureSupervisor(progress?: (m: string) => void): Promise<{ pid: number; startTime: number; sandboxes: string[] }> {
  const deadline = Date.now() + 30_000;
  // At most one start in flight: a starting supervisor needs a moment (loading its modules from dist/) before it answers.
  let starting: { done: boolean } | undefined;
  for (;;) {
    try {
      return await request({ op: "ping" }, undefined, 10_000);
    } catch (e) {
      if (Date.now() > deadline) throw new SupervisorError(`the supervisor did not start: ${(e as Error).message}`, `see ${supervisorPaths().log}`);
      if (!runningSupervisor() && (!starting || starting.done)) {
        progress?.("starting the Airlock supervisor");
        const s = { done: false };
        spawnSupervisor().exited.then(() => (s.done = true));
        starting = s;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Creates a detached sandbox owned by the supervisor. */
export async function supervisedCreate(
  spec: SandboxSpec,
  o: { identity: { id: string; expiresAt: Date; owner: string }; taskDir?: string; startWorkload: boolean; progress?: (m: string) => void },
): Promise<LocalSandboxHandle> {
  for (let attempt = 0; ; attempt++) {
    await ensureSupervisor(o.progress);
    try {
      const answer = await request(
        { op: "create", spec, identity: { ...o.identity, expiresAt: o.identity.expiresAt.toISOString() }, taskDir: o.taskDir, startWorkload: o.startWorkload },
        o.progress,
      );
      return answer.handle;
    } catch (e: any) {
      // The supervisor may have just been exiting (idle) when we connected: try once more.
      if (attempt === 0 && (e.code === "ECONNREFUSED" || e.code === "ENOENT")) continue;
      throw e;
    }
  }
}

/** Asks the supervisor to destroy one of its sandboxes. */
export async function supervisedDestroy(id: string, reason: string, progress?: (m: string) => void): Promise<any> {
  return (await request({ op: "destroy", id, reason }, progress)).result;
}

/** Waits until no supervisor runs for this state dir (tests, benchmarks). */
export async function waitSupervisorGone(timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!runningSupervisor()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !runningSupervisor();
}
