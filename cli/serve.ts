// `airlock serve`: one long-lived Airlock process that owns the sandboxes it creates and serves the
// control protocol (components/local/control/protocol.ts, docs/inspect.md) — what the Inspect AI
// provider starts once per evaluation, so that an exec costs a confined spawn, not a Node start.
//
//   airlock serve --socket <path>             listen on a Unix socket (0600; put it in a 0700 directory)
//   airlock serve --stdio                     requests on stdin, responses on stdout
//   airlock serve --cleanup [--sandbox <id>]  destroy sandboxes of running serve processes (all, or one), then sweep
//
// Ownership: the process that started `airlock serve` owns it through its stdin. When stdin reaches
// EOF (the owner exited, crashed or was killed) every sandbox is destroyed and the server exits —
// unless the client sent `detach` (Inspect's --no-sandbox-cleanup): then the sandboxes stay until
// their ttl or `airlock serve --cleanup`, and the server exits once it owns nothing.
import * as fs from "fs";
import { once } from "events";
import * as net from "net";
import * as path from "path";
import { parseArgs } from "util";
import type { Command } from "./command";
import { CliError, makeOutput } from "./output";
import { requireRoot } from "../components/host/exec";
import { guardSignals } from "../components/host/signals";
import { isAlive, selfRef } from "../components/host/process";
import { statePath } from "../components/host/state";
import { ControlServer, serveConnection } from "../components/local/control/server";
import { ControlClient } from "../components/local/control/client";
import { readJsonFile, ServeRegistration } from "../components/local/control/protocol";
import { destroySandboxById, recoverDeadSandboxes } from "../components/local/lifecycle";
import { sweep } from "../components/local/sweep";
import "../components/local/undo-kinds";

export const SERVE_TITLE = "airlock-serve";
const USAGE = "airlock serve --socket <path> | --stdio | --cleanup [--sandbox <id>] [--json]";

function log(m: string): void {
  if (!process.env.AIRLOCK_QUIET) process.stderr.write(`${new Date().toISOString()} airlock serve [${process.pid}] ${m}\n`);
}

function registrationsDir(): string {
  return statePath("serve");
}

async function serve(socket: string | undefined): Promise<number> {
  requireRoot("airlock serve");
  process.title = SERVE_TITLE;
  const server = new ControlServer(log);
  const recovered = await recoverDeadSandboxes();
  if (recovered.length) log(`recovered ${recovered.length} sandbox journal(s) of dead owners`);

  let exiting = false;
  const cleanupFiles: string[] = [];
  const exit = (code: number) => {
    if (exiting) return;
    exiting = true;
    for (const f of cleanupFiles) fs.rmSync(f, { force: true });
    process.exit(code);
  };
  guardSignals(async (signal) => {
    log(`${signal}: destroying ${server.ids().length} sandbox(es)`);
    await server.destroyAll(`airlock serve received ${signal}`);
    for (const f of cleanupFiles) fs.rmSync(f, { force: true });
  });

  const ownerGone = async () => {
    if (server.detached) {
      log(`owner gone; detached: ${server.ids().length} sandbox(es) stay until their ttl or \`airlock serve --cleanup\``);
      if (server.ids().length === 0) exit(0);
      server.onIdle = () => exit(0);
      return;
    }
    log(`owner gone (stdin closed): destroying ${server.ids().length} sandbox(es)`);
    await server.destroyAll("the client of airlock serve went away");
    exit(0);
  };

  if (!socket) {
    await serveConnection(server, process.stdin, process.stdout);
    server.detached = false; // over stdio nobody could reach a detached server again
    await ownerGone();
    return 0;
  }

  const abs = path.resolve(socket);
  fs.rmSync(abs, { force: true });
  const listener = net.createServer((sock) => {
    sock.on("error", () => undefined);
    void serveConnection(server, sock, sock);
  });
  listener.listen(abs);
  await once(listener, "listening"); // rejects on "error"
  fs.chmodSync(abs, 0o600);
  cleanupFiles.push(abs);
  const reg: ServeRegistration = { process: selfRef(), socket: abs, startedAt: new Date().toISOString() };
  const regFile = path.join(registrationsDir(), `${process.pid}.json`);
  fs.writeFileSync(regFile, JSON.stringify(reg), { mode: 0o600 });
  cleanupFiles.push(regFile);
  log(`listening on ${abs}`);
  // A shutdown request answers first, then the server exits.
  const handle = server.handle.bind(server);
  server.handle = async (req, ctx) => {
    if (req.op === "shutdown") server.onIdle = undefined; // exit after the answer, not when the last sandbox goes
    const r = await handle(req, ctx);
    if (req.op === "shutdown") setTimeout(() => exit(0), 50); // the answer is written first
    return r;
  };
  process.stdin.on("data", () => undefined);
  process.stdin.once("end", () => void ownerGone());
  process.stdin.once("error", () => void ownerGone());
  process.stdin.resume();
  await new Promise(() => undefined); // runs until exit()
  return 0;
}

/** Live serve processes of this state directory (stale registrations are removed). */
export function liveServers(): ServeRegistration[] {
  const dir = registrationsDir();
  const out: ServeRegistration[] = [];
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name);
    const reg = readJsonFile<ServeRegistration>(file);
    if (reg && isAlive(reg.process) && fs.existsSync(reg.socket)) out.push(reg);
    else fs.rmSync(file, { force: true });
  }
  return out;
}

async function cleanup(sandbox: string | undefined, json: boolean): Promise<number> {
  requireRoot("airlock serve --cleanup");
  const out = makeOutput(json);
  const destroyed: string[] = [];
  const problems: string[] = [];
  let found = false;
  for (const reg of liveServers()) {
    let client: ControlClient;
    try {
      client = await ControlClient.connect(reg.socket);
    } catch (e) {
      problems.push(`serve process ${reg.process.pid}: cannot connect: ${(e as Error).message}`);
      continue;
    }
    try {
      const { sandboxes } = await client.request<{ sandboxes: { id: string }[] }>({ op: "list" });
      if (sandbox) {
        if (!sandboxes.some((s) => s.id === sandbox)) continue;
        found = true;
        await client.request({ op: "destroy", sandbox, reason: "airlock serve --cleanup" });
        destroyed.push(sandbox);
      } else {
        out.progress(`serve process ${reg.process.pid}: destroying ${sandboxes.length} sandbox(es) and stopping it`);
        await client.request({ op: "shutdown" });
        destroyed.push(...sandboxes.map((s) => s.id));
      }
    } catch (e) {
      problems.push(`serve process ${reg.process.pid}: ${(e as Error).message}`);
    } finally {
      client.close();
    }
  }
  if (sandbox && !found) {
    // Not owned by a serve process: whoever owns it (or nobody), destroy it the usual way.
    const r = await destroySandboxById(sandbox, "airlock serve --cleanup", (m) => out.progress(m));
    destroyed.push(sandbox);
    problems.push(...r.leftovers);
  }
  if (!sandbox) {
    const report = await sweep({ progress: (m) => out.progress(m) });
    problems.push(...report.failures, ...report.leftovers);
  }
  out.result({ ok: problems.length === 0, destroyed, problems }, (r) => [`destroyed ${r.destroyed.length} sandbox(es)${r.destroyed.length ? ": " + r.destroyed.join(", ") : ""}`, ...r.problems.map((p: string) => `problem: ${p}`)].join("\n"));
  return problems.length ? 1 : 0;
}

export const command: Command = {
  summary: "serve the control protocol (create/exec/files/destroy) for harnesses such as Inspect AI",
  usage: USAGE,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { socket: { type: "string" }, stdio: { type: "boolean", default: false }, cleanup: { type: "boolean", default: false }, sandbox: { type: "string" }, json: { type: "boolean", default: false } },
      allowPositionals: false,
    });
    const modes = [values.socket !== undefined, values.stdio, values.cleanup].filter(Boolean).length;
    if (modes !== 1) throw new CliError("choose exactly one of --socket <path>, --stdio, --cleanup", `usage: ${USAGE}`, 2);
    if (values.sandbox && !values.cleanup) throw new CliError("--sandbox goes with --cleanup", `usage: ${USAGE}`, 2);
    if (values.cleanup) return cleanup(values.sandbox, !!values.json);
    return serve(values.socket);
  },
};
