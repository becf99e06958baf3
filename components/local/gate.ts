// The egress gate: one Toxiproxy server per sandbox on the host, its admin API on host loopback only
// (the sandbox has its own loopback and no route to the host's), and one listener per allowed
// upstream bound to the host side of the sandbox's veth. It is at once the allowlist — nothing else
// has a route or passes nftables — and the chaos runner's fault injection point.
//
// One server per sandbox, not one shared: a chaos `reset` or a crashed server then touches exactly
// one sandbox. Its cost is small (Go binary pages are shared; ~2 MB private memory each).
//
// Its log cannot be allowed to grow without bound: every connection the workload opens to an upstream
// that refuses is one error line, and gate.log sits on the records' disk (a full disk would tear the
// records). The server logs at error level only, into a pipe read by the owner, which writes gate.log
// and rotates it to gate.log.1 at GATE_LOG.capBytes — at most twice the cap on disk per sandbox; each
// rotation (and the bytes it discards) goes into the record.
import * as fs from "fs";
import * as dns from "dns";
import * as net from "net";
import { UndoJournal } from "../host/journal";
import { freePort, startToxiproxyServer, ToxiproxyAdmin, ToxiproxyServer } from "../host/toxiproxy";
import { confinedGateCommand, GateConfinement, unprivilegedPortStart } from "./gate-confine";
import type { GateProxy } from "./handle";
import type { SandboxSpec } from "../spec/schema";
import { proxyName } from "./names";

/** The gate's log: level and per-file cap (two files: gate.log and gate.log.1). Tests may lower the cap. */
export const GATE_LOG = { level: "error", capBytes: 1024 * 1024 };

/** A log file rotated at a size cap: `file` and `file.1`, never more. */
export class RotatingLog {
  private size: number;
  /** Bytes written in total / discarded by rotations (the old .1 each time). */
  written = 0;
  discarded = 0;

  constructor(
    readonly file: string,
    private readonly capBytes: number,
    private readonly onRotate?: (info: { discardedBytes: number; writtenBytes: number }) => void,
  ) {
    this.size = fs.existsSync(file) ? fs.statSync(file).size : 0;
  }

  write(chunk: Buffer): void {
    try {
      if (this.size > 0 && this.size + chunk.length > this.capBytes) this.rotate();
      const part = chunk.length > this.capBytes ? chunk.subarray(chunk.length - this.capBytes) : chunk;
      fs.appendFileSync(this.file, part, { mode: 0o600 });
      this.size += part.length;
      this.written += chunk.length;
      this.discarded += chunk.length - part.length;
    } catch {
      /* the sandbox directory is being removed */
    }
  }

  private rotate(): void {
    const old = `${this.file}.1`;
    const discardedBytes = fs.existsSync(old) ? fs.statSync(old).size : 0;
    fs.renameSync(this.file, old);
    this.size = 0;
    this.discarded += discardedBytes;
    this.onRotate?.({ discardedBytes, writtenBytes: this.written });
  }
}

export interface Gate {
  server: ToxiproxyServer;
  proxies: Record<string, GateProxy>;
}

/** One allowed upstream as the gate serves it: where the workload connects, where the gate binds, where it forwards. */
export interface GateRoute {
  name: string;
  /** The port the workload (and the chaos runner) connect to on the gate address. */
  listenPort: number;
  /** The port the gate really binds: listenPort, or a free high port when listenPort is privileged (translated by nftables). */
  bindPort: number;
  /** The upstream's address (an IP: names are resolved once, here, so the gate needs no DNS and the kernel rule names what it reaches). */
  address: string;
  port: number;
}

export const hostPort = (address: string, port: number) => `${address.includes(":") ? `[${address}]` : address}:${port}`;

/** Where the gate forwards an allowed upstream to (host names resolved to the first address). */
async function upstreamOf(entry: SandboxSpec["egressResolved"][number], targetAddress: string | undefined): Promise<{ address: string; port: number }> {
  if (entry.via === "target") {
    if (!targetAddress) throw new Error(`upstream '${entry.name}' goes to a target but the sandbox has no targets network`);
    return { address: targetAddress, port: entry.port };
  }
  if (entry.via === "address") {
    const host = entry.host!.replace(/^\[(.*)\]$/, "$1");
    if (net.isIP(host)) return { address: host, port: entry.port };
    try {
      const { address } = await dns.promises.lookup(host);
      return { address, port: entry.port };
    } catch (e: any) {
      throw Object.assign(new Error(`egress.allow '${entry.name}': host '${host}' does not resolve on this host (${e.code ?? e.message})`), { hint: "use an IP address, or a name this host resolves (/etc/hosts)" });
    }
  }
  throw new Error(`the local backend cannot reach upstream '${entry.name}' via ${entry.via}`);
}

/**
 * The gate's routes, decided before any rule is loaded: nftables must know the ports the gate binds and
 * the addresses it may reach. `confined` gates cannot bind privileged ports (see gate-confine.ts).
 */
export async function planGateRoutes(egress: SandboxSpec["egressResolved"], o: { listenAddress: string; targetAddress?: string; confined: boolean }): Promise<GateRoute[]> {
  const lowest = o.confined ? unprivilegedPortStart() : 0;
  const routes: GateRoute[] = [];
  for (const e of egress) {
    const up = await upstreamOf(e, o.targetAddress);
    const bindPort = e.listenPort >= lowest ? e.listenPort : await freePort(o.listenAddress);
    routes.push({ name: e.name, listenPort: e.listenPort, bindPort, address: up.address, port: up.port });
  }
  return routes;
}

export async function startGate(
  journal: UndoJournal,
  o: {
    id: string;
    processName: string;
    logFile: string;
    listenAddress: string;
    routes: GateRoute[];
    /** How the server is confined (uid, cgroup, seccomp); absent only for tests of the bare server. */
    confine?: GateConfinement;
    onLogRotated?: (info: { discardedBytes: number; writtenBytes: number }) => void;
  },
): Promise<Gate> {
  const log = new RotatingLog(o.logFile, GATE_LOG.capBytes, o.onLogRotated);
  // A process's pid exists only once it runs, so its undo is journaled the instant it is spawned; its
  // argv[0] carries the sandbox id, which lets the sweeper catch the spawn-to-journal window too (and
  // its cgroup, which it joins before anything else runs).
  const server = await startToxiproxyServer({
    host: "127.0.0.1",
    onOutput: (chunk) => log.write(chunk),
    logLevel: GATE_LOG.level,
    argv0: o.processName,
    confine: o.confine ? (argv) => confinedGateCommand(o.confine!, argv) : undefined,
    onSpawn: (ref) => journal.record("process", `gate ${o.processName} (pid ${ref.pid})`, ref),
  });
  const admin = new ToxiproxyAdmin(server.url);
  const proxies: Record<string, GateProxy> = {};
  for (const r of o.routes) {
    const p: GateProxy = { proxy: proxyName(o.id, r.name), listen: hostPort(o.listenAddress, r.listenPort), upstream: hostPort(r.address, r.port) };
    if (r.bindPort !== r.listenPort) p.bind = hostPort(o.listenAddress, r.bindPort);
    const bind = p.bind ?? p.listen;
    await journal.apply("toxiproxy-proxy", `gate listener ${bind} -> ${p.upstream}`, { url: server.url, name: p.proxy }, () => admin.createProxy({ name: p.proxy, listen: bind, upstream: p.upstream }));
    proxies[r.name] = p;
  }
  return { server, proxies };
}
