// The egress gate: one Toxiproxy server per sandbox on the host, its admin API on host loopback only
// (the sandbox has its own loopback and no route to the host's), and one listener per allowed
// upstream bound to the host side of the sandbox's veth. It is at once the allowlist — nothing else
// has a route or passes nftables — and the chaos runner's fault injection point.
//
// One server per sandbox, not one shared: a chaos `reset` or a crashed server then touches exactly
// one sandbox. Its cost is small (Go binary pages are shared; ~2 MB private memory each).
import { UndoJournal } from "../host/journal";
import { startToxiproxyServer, ToxiproxyAdmin, ToxiproxyServer } from "../host/toxiproxy";
import type { GateProxy } from "./handle";
import type { SandboxSpec } from "../spec/schema";
import { proxyName } from "./names";

export interface Gate {
  server: ToxiproxyServer;
  proxies: Record<string, GateProxy>;
}

/** Where the gate forwards an allowed upstream to. */
export function upstreamAddress(entry: SandboxSpec["egressResolved"][number], targetAddress: string | undefined): string {
  if (entry.via === "target") {
    if (!targetAddress) throw new Error(`upstream '${entry.name}' goes to a target but the sandbox has no targets network`);
    return `${targetAddress}:${entry.port}`;
  }
  if (entry.via === "address") return `${entry.host!.includes(":") ? `[${entry.host}]` : entry.host}:${entry.port}`;
  throw new Error(`the local backend cannot reach upstream '${entry.name}' via ${entry.via}`);
}

export async function startGate(
  journal: UndoJournal,
  o: { id: string; processName: string; logFile: string; listenAddress: string; egress: SandboxSpec["egressResolved"]; targetAddress?: string },
): Promise<Gate> {
  // A process's pid exists only once it runs, so its undo is journaled the instant it is spawned; its
  // argv[0] carries the sandbox id, which lets the sweeper catch the spawn-to-journal window too.
  const server = await startToxiproxyServer({
    host: "127.0.0.1",
    logFile: o.logFile,
    argv0: o.processName,
    onSpawn: (ref) => journal.record("process", `gate ${o.processName} (pid ${ref.pid})`, ref),
  });
  const admin = new ToxiproxyAdmin(server.url);
  const proxies: Record<string, GateProxy> = {};
  for (const entry of o.egress) {
    const p: GateProxy = { proxy: proxyName(o.id, entry.name), listen: `${o.listenAddress}:${entry.listenPort}`, upstream: upstreamAddress(entry, o.targetAddress) };
    await journal.apply("toxiproxy-proxy", `gate listener ${p.listen} -> ${p.upstream}`, { url: server.url, name: p.proxy }, () => admin.createProxy({ name: p.proxy, listen: p.listen, upstream: p.upstream }));
    proxies[entry.name] = p;
  }
  return { server, proxies };
}
