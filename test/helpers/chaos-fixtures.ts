// Real things for the chaos tests, all on loopback and all cleaned up: an HTTP upstream, a Toxiproxy
// gate in front of it, a workload in its own cgroup (airlock-chaostest-*), a record, and a local
// sandbox handle tying them together the way the local backend persists one.
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import { spawn, ChildProcess } from "child_process";
import { Cgroup, CgroupHost, cgroupRef, detectCgroupHost } from "../../components/host/cgroup";
import { freePort, startToxiproxyServer, ToxiproxyAdmin, ToxiproxyServer } from "../../components/host/toxiproxy";
import { stateDir, statePath } from "../../components/host/state";
import { ChainLog } from "../../components/record/chain-log";
import { LocalSandboxHandle, saveHandle, GateProxy } from "../../components/local/handle";
import type { SandboxSpec } from "../../components/spec/schema";
import { RUN_TAG } from "./run-scope";
import { diesWithThisProcess } from "./dies-with-test";

export interface Upstream {
  address: string;
  /** Requests the server has answered (its own count: what reached it through the gate). */
  answered(): number;
  close(): Promise<void>;
}

/** GET / -> "ok"; GET /bytes/<n> -> n bytes (for bandwidth and data-limit measurements). */
export async function startUpstream(): Promise<Upstream> {
  const sockets = new Set<net.Socket>();
  let answered = 0;
  const server = http.createServer((req, res) => {
    answered++;
    const m = /^\/bytes\/(\d+)$/.exec(req.url ?? "");
    const body = m ? Buffer.alloc(Number(m[1]), 0x61) : Buffer.from("ok\n");
    res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
    res.end(body);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    answered: () => answered,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export interface Gate {
  server: ToxiproxyServer;
  admin: ToxiproxyAdmin;
  proxies: Record<string, GateProxy>;
  stop(): Promise<void>;
}

/**
 * A Toxiproxy server with one proxy per upstream, on fixed loopback ports (re-enabling keeps them).
 * The server dies with this process, even a SIGKILLed one (helpers/dies-with-test.ts).
 */
export async function startGate(upstreams: Record<string, string>, prefix = "airlock-chaostest"): Promise<Gate> {
  const server = await startToxiproxyServer({
    logFile: path.join(statePath("logs"), `toxiproxy-${process.pid}.log`),
    logLevel: process.env.LOG_LEVEL ?? "warn", // what it had before the tie (confine's default is "error")
    confine: diesWithThisProcess,
  });
  const admin = new ToxiproxyAdmin(server.url);
  const proxies: Record<string, GateProxy> = {};
  try {
    for (const [name, upstream] of Object.entries(upstreams)) {
      const listen = `127.0.0.1:${await freePort()}`;
      const proxy = `${prefix}-${name}`;
      await admin.createProxy({ name: proxy, listen, upstream });
      proxies[name] = { proxy, listen, upstream };
    }
  } catch (e) {
    await server.stop();
    throw e;
  }
  return { server, admin, proxies, stop: () => server.stop() };
}

let cgroupSeq = 0;

export interface Workload {
  cg: Cgroup;
  child: ChildProcess;
  /** Lets a paused workload run (it waits on stdin until then). */
  go(): void;
  /** Resolves when the workload's main process exits. */
  exited: Promise<number | null>;
  /** Kills everything in the cgroup and removes it. */
  remove(): Promise<void>;
}

/**
 * A process started inside a fresh cgroup: it waits on stdin until it has been moved into the cgroup
 * (and, with `paused`, until go()), then execs `script` (sh), so nothing it forks escapes the cgroup.
 */
export async function startWorkload(script = "exec sleep 600", opts: { host?: CgroupHost; paused?: boolean } = {}): Promise<Workload> {
  const cg = new Cgroup(opts.host ?? detectCgroupHost(), `airlock-chaostest-${RUN_TAG}-${++cgroupSeq}`);
  cg.create();
  const child = spawn("sh", ["-c", 'read go; exec sh -c "$0"', script], { stdio: ["pipe", "ignore", "ignore"] });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    cg.addProcess(child.pid!);
  } catch (e) {
    child.kill("SIGKILL");
    await cg.remove();
    throw e;
  }
  const go = () => void child.stdin!.end("go\n");
  if (!opts.paused) go();
  return { cg, child, go, exited, remove: () => cg.remove() };
}

export interface FakeSandbox {
  handle: LocalSandboxHandle;
  upstream: Upstream;
  gate: Gate;
  workload: Workload;
  record: ChainLog;
  cleanup(): Promise<void>;
}

let sandboxSeq = 0;

/** A local sandbox handle backed by real pieces (no netns: the gate listens on loopback). */
export async function startFakeSandbox(opts: { workloadScript?: string; upstreams?: string[] } = {}): Promise<FakeSandbox> {
  const id = `chaostest${process.pid}x${++sandboxSeq}`;
  const upstream = await startUpstream();
  let gate: Gate;
  try {
    gate = await startGate(Object.fromEntries((opts.upstreams ?? ["api"]).map((n) => [n, upstream.address])), `airlock-${id}`);
  } catch (e) {
    await upstream.close();
    throw e;
  }
  let workload: Workload;
  try {
    workload = await startWorkload(opts.workloadScript);
  } catch (e) {
    await gate.stop();
    await upstream.close();
    throw e;
  }
  const recordDir = path.join(stateDir(), "records");
  fs.mkdirSync(recordDir, { recursive: true });
  const record = ChainLog.create(path.join(recordDir, `${id}.jsonl`), { type: "created", data: { id } });
  const handle: LocalSandboxHandle = {
    id,
    createdAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    owner: "chaos-tests",
    spec: { name: "chaostest" } as unknown as SandboxSpec,
    netns: "",
    hostIface: "",
    sandboxIface: "",
    hostAddress: "127.0.0.1",
    sandboxAddress: "127.0.0.1",
    gate: { adminUrl: gate.server.url, process: gate.server.process, proxies: gate.proxies },
    cgroup: cgroupRef(workload.cg),
    record: record.file,
  };
  saveHandle(handle);
  return {
    handle,
    upstream,
    gate,
    workload,
    record,
    cleanup: async () => {
      await workload.remove().catch(() => undefined);
      await gate.stop().catch(() => undefined);
      await upstream.close();
      fs.rmSync(path.dirname(path.join(stateDir(), "sandboxes", id, "handle.json")), { recursive: true, force: true });
    },
  };
}

/** Writes an experiment YAML into the state dir and returns its path. */
export function writeExperiment(name: string, yaml: string): string {
  const dir = path.join(stateDir(), "experiments");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${Date.now()}-${Math.random().toString(36).slice(2, 7)}.yaml`);
  fs.writeFileSync(file, yaml);
  return file;
}
