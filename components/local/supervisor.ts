// The shared supervisor: one long-lived process per state directory that owns every detached local
// sandbox (see supervisor-client.ts for why and how it is reached). Owning means: it is the runner of
// each sandbox's undo journal, the parent of its workload and targets (--die-with-parent), and the
// guard (ttl timer, canary watch, kill rules). One process for all sandboxes keeps the memory cost
// per sandbox to the gate and two tiny helper processes, instead of a Node runtime each.
//
// If it is killed, its workloads and targets die with it, and its journals — whose runner is now
// dead — are replayed by the next `airlock` command. On SIGTERM/SIGINT it destroys what it owns.
// It exits by itself once it owns nothing and nobody is talking to it.
import * as fs from "fs";
import * as net from "net";
import { selfRef } from "../host/process";
import { guardSignals } from "../host/signals";
import { HostSandbox, ownedSandbox, ownedSandboxes } from "./sandbox";
import { SUPERVISOR_TITLE, supervisorPaths, SupervisorRequest } from "./supervisor-client";
import { recoverDeadSandboxes } from "./lifecycle";
import { execInSandbox } from "./sandbox-exec";
import { PassThrough, Writable } from "stream";
import "./undo-kinds";

const IDLE_EXIT_MS = 300;
const FIRST_REQUEST_WINDOW_MS = 20_000;

let connections = 0;
let busy = 0;
let idleTimer: NodeJS.Timeout | undefined;

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} [${process.pid}] ${message}\n`);
}

function scheduleIdleCheck(delay = IDLE_EXIT_MS): void {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (connections === 0 && busy === 0 && ownedSandboxes().length === 0) shutdown(0, "idle: no sandboxes left");
  }, delay);
}

let server: net.Server | undefined;
let lock: net.Server | undefined;

function shutdown(code: number, why: string): void {
  log(`exiting: ${why}`);
  const { socket, info } = supervisorPaths();
  server?.close();
  try {
    fs.rmSync(socket, { force: true });
    fs.rmSync(info, { force: true });
  } catch {
    /* best effort */
  }
  lock?.close();
  process.exit(code);
}

function adopt(sb: HostSandbox): void {
  sb.onKilled = (t) => {
    log(`${sb.id}: kill switch (${t.rule}): ${t.detail}`);
    void sb.destroy(`killed: ${t.rule}`).then(() => scheduleIdleCheck());
  };
}

/** What a connection does with the lines that follow its request (an exec's stdin), if anything. */
type Followups = { onLine?: (msg: any) => void; closed: AbortController; sock: net.Socket };

/**
 * `sandbox exec` for a sandbox this supervisor owns: execInSandbox as the CLI would run it (same
 * confinement, record entries, exit status), with the caller's streams carried over the socket.
 */
async function exec(req: Extract<SupervisorRequest, { op: "exec" }>, send: (m: unknown) => void, conn: Followups): Promise<void> {
  if (!ownedSandbox(req.id)) return send({ ok: false, error: `this supervisor does not own sandbox '${req.id}'` });
  if (!Array.isArray(req.command) || req.command.length === 0 || !req.command.every((a) => typeof a === "string")) return send({ ok: false, error: "exec: command must be a non-empty list of strings" });
  // Output frames go out in order; a slow reader fills the socket's buffer, which the tee bounds.
  const framed = (out: "stdout" | "stderr") =>
    new Writable({ write: (chunk: Buffer, _enc, cb) => (conn.sock.destroyed ? cb() : conn.sock.write(JSON.stringify({ out, data: chunk.toString("base64") }) + "\n", () => cb())) });
  const stdin = req.stdin ? new PassThrough() : undefined;
  conn.onLine = (msg) => {
    if (typeof msg?.stdin === "string") stdin?.write(Buffer.from(msg.stdin, "base64"));
    else if (msg?.stdinEnd) stdin?.end();
  };
  const stdout = framed("stdout");
  const stderr = framed("stderr");
  const status = await execInSandbox(req.id, req.command, { stdin, stdout, stderr, abort: conn.closed.signal });
  // The frames written so far go out before the final answer.
  await Promise.all([stdout, stderr].map((w) => new Promise((r) => w.end(r))));
  send({ ok: true, status });
}

async function handle(req: SupervisorRequest, send: (m: unknown) => void, conn: Followups): Promise<void> {
  switch (req.op) {
    case "ping":
      return send({ ok: true, pid: process.pid, startTime: selfRef().startTime, sandboxes: ownedSandboxes().map((s) => s.id) });
    case "create": {
      const identity = { id: req.identity.id, expiresAt: new Date(req.identity.expiresAt), owner: req.identity.owner };
      log(`${identity.id}: creating`);
      const sb = await HostSandbox.create(req.spec, { identity, taskDir: req.taskDir, progress: (m) => send({ progress: m }) });
      adopt(sb);
      if (req.startWorkload) {
        send({ progress: "starting the workload" });
        const run = sb.startWorkload();
        run.exited.then((s) => log(`${sb.id}: workload exited with status ${s.status}`)).catch(() => undefined);
      }
      log(`${identity.id}: ready`);
      return send({ ok: true, handle: sb.handle });
    }
    case "destroy": {
      const sb = ownedSandbox(req.id);
      if (!sb) return send({ ok: false, error: `this supervisor does not own sandbox '${req.id}'` });
      log(`${req.id}: destroying (${req.reason})`);
      const result = await sb.destroy(req.reason);
      return send({ ok: true, result });
    }
    case "exec":
      return exec(req, send, conn);
    default:
      return send({ ok: false, error: `unknown request ${(req as any).op}` });
  }
}

function serve(sock: net.Socket): void {
  connections++;
  if (idleTimer) clearTimeout(idleTimer);
  let buf = "";
  let requested = false;
  const conn: Followups = { closed: new AbortController(), sock };
  const send = (m: unknown) => {
    if (!sock.destroyed) sock.write(JSON.stringify(m) + "\n");
  };
  sock.on("data", (d) => {
    buf += d.toString();
    let nl: number;
    // Lines after the request belong to it (an exec's stdin); without a taker they are ignored.
    while (requested && (nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        conn.onLine?.(JSON.parse(line));
      } catch {
        /* a malformed follow-up line is dropped */
      }
    }
    if (requested) return;
    nl = buf.indexOf("\n");
    if (nl < 0) return;
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    requested = true;
    busy++;
    let req: SupervisorRequest;
    try {
      req = JSON.parse(line);
    } catch {
      busy--;
      send({ ok: false, error: "not a JSON request" });
      return void sock.end();
    }
    if (buf) setImmediate(() => sock.emit("data", Buffer.alloc(0)));
    handle(req, send, conn)
      .catch((e) => send({ ok: false, error: (e as Error).message, hint: (e as any).hint }))
      .finally(() => {
        busy--;
        sock.end();
        scheduleIdleCheck();
      });
  });
  sock.on("error", () => undefined);
  sock.on("close", () => {
    conn.closed.abort();
    connections--;
    scheduleIdleCheck();
  });
}

function listen(target: string, s: net.Server): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once("error", reject);
    s.listen(target, () => {
      s.off("error", reject);
      resolve();
    });
  });
}

async function main(): Promise<void> {
  process.title = SUPERVISOR_TITLE;
  const paths = supervisorPaths();
  lock = net.createServer((s) => s.destroy());
  try {
    await listen(paths.lock, lock);
  } catch (e: any) {
    if (e.code === "EADDRINUSE") return void log("another supervisor already runs for this state directory; leaving");
    throw e;
  }
  // Holding the lock: the socket path is ours to replace.
  fs.rmSync(paths.socket, { force: true });
  server = net.createServer(serve);
  await listen(paths.socket, server);
  fs.chmodSync(paths.socket, 0o600);
  fs.writeFileSync(paths.info + ".tmp", JSON.stringify({ process: selfRef(), startedAt: new Date().toISOString() }), { mode: 0o600 });
  fs.renameSync(paths.info + ".tmp", paths.info);
  log("supervising");
  guardSignals(async (signal) => {
    log(`${signal}: destroying ${ownedSandboxes().length} sandbox(es)`);
    await Promise.all(ownedSandboxes().map((s) => s.destroy(`supervisor received ${signal}`)));
  });
  // Journals of sandboxes whose owner died are replayed here too (a crashed predecessor's, say).
  const recovered = await recoverDeadSandboxes();
  if (recovered.length) log(`recovered ${recovered.length} dead sandbox journal(s)`);
  scheduleIdleCheck(FIRST_REQUEST_WINDOW_MS);
}

main().catch((e) => {
  log(`fatal: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
