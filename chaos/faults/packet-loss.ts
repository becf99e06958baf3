// Packet loss, by the best mechanism the target has (chosen by the validator, named in the report):
//
//   netem      tc netem on the interface of the direction, scoped to the gate listener's port:
//              real IP packet loss; TCP retransmits. (netem.ts)
//   toxiproxy  the server's packet_loss toxic (Toxiproxy after v2.12.0, PR #739): drops data chunks
//              inside the proxied TCP stream — data loss the application sees, not IP loss.
//   emulation  what a v2.12 Toxiproxy can do, with its semantics named honestly: a share `loss` of
//              CONNECTIONS is lost outright (stalled: its requests never reach the server, nothing
//              comes back until the client gives up or the fault ends, then it is closed; or, with
//              emulation: reset, reset), and an independent share `loss` of connections gets extra delay
//              uniform in [0, retransmitDelay] per chunk, standing in for retransmit delays. It does
//              not drop individual packets; per-connection, not per-packet.
import type { PlannedWindow } from "../schedule/plan";
import type { Params } from "../experiment/schema";
import { gateProxy, toxicName } from "./network";
import { installScopedQdisc, netemLeaf } from "./netem";
import { JournaledToxic } from "./toxic";
import { ActiveFault, FaultContext } from "./types";

export async function startPacketLoss(ctx: FaultContext, w: PlannedWindow, params: Params): Promise<ActiveFault> {
  // The validator resolves "auto" against the target; an explicit mechanism is used as written.
  const requested = String(params.mechanism ?? "auto");
  const mechanism = w.action.packetLoss?.mechanism ?? (requested === "auto" ? undefined : requested);
  if (!mechanism) throw new Error(`packet-loss '${w.action.name}': mechanism 'auto' was not resolved; validate the experiment against the target first`);
  if (mechanism === "netem") return startNetemLoss(ctx, w, params);
  if (mechanism === "toxiproxy") return startToxiproxyLoss(ctx, w, params);
  return startEmulatedLoss(ctx, w, params);
}

async function startNetemLoss(ctx: FaultContext, w: PlannedWindow, params: Params): Promise<ActiveFault> {
  const a = w.action;
  const gate = ctx.target.gate!.proxies[a.upstream!];
  const port = Number(gate.listen.split(":").pop());
  const net = ctx.target.network ?? {};
  const placement =
    a.stream === "upstream" ? { netns: net.netns, iface: net.sandboxIface!, port, match: "dport" as const } : { netns: undefined, iface: net.hostIface!, port, match: "sport" as const };
  const leaf = (p: Params) => netemLeaf(Number(p.loss), Number(p.correlation ?? 0));
  const q = await installScopedQdisc(ctx, placement, leaf(params));
  return {
    mechanism: `tc netem loss on ${placement.iface}${placement.netns ? ` (netns ${placement.netns})` : ""}, ${placement.match} ${port} — IP packet loss`,
    update: (next) => q.update(leaf(next)),
    stop: () => q.remove(),
  };
}

async function startToxiproxyLoss(ctx: FaultContext, w: PlannedWindow, params: Params): Promise<ActiveFault> {
  const a = w.action;
  const toxic = new JournaledToxic(ctx, gateProxy(ctx, a.upstream!), toxicName(ctx, w), "packet_loss", a.stream!);
  const attrs = (p: Params) => ({ loss_rate: Number(p.loss), correlation: Number(p.correlation ?? 0) });
  await toxic.set(attrs(params), 1);
  return {
    mechanism: `toxiproxy packet_loss toxic on '${toxic.proxy}' ${a.stream} — drops data chunks inside the TCP stream`,
    update: (next) => toxic.set(attrs(next), 1),
    stop: () => toxic.remove(),
  };
}

async function startEmulatedLoss(ctx: FaultContext, w: PlannedWindow, params: Params): Promise<ActiveFault> {
  const a = w.action;
  const proxy = gateProxy(ctx, a.upstream!);
  const mode = params.emulation === "reset" ? "reset" : "stall";
  // A stalled connection's requests never reach the server (timeout toxic on the upstream stream):
  // on the downstream stream the server's own close would still be passed on and end the stall.
  const lost = new JournaledToxic(ctx, proxy, toxicName(ctx, w, mode), mode === "reset" ? "reset_peer" : "timeout", mode === "reset" ? a.stream! : "upstream");
  const jitter = new JournaledToxic(ctx, proxy, toxicName(ctx, w, "retransmit"), "latency", a.stream!);
  const apply = async (p: Params) => {
    const loss = Number(p.loss);
    const rto = Number(p.retransmitDelay ?? 0);
    await lost.set({ timeout: 0 }, loss);
    // latency ± jitter with both = rto/2 gives a delay uniform in [0, rto].
    await jitter.set({ latency: Math.round(rto / 2), jitter: Math.round(rto / 2) }, rto > 0 ? loss : 0);
  };
  await apply(params);
  return {
    mechanism: `emulation on '${proxy}' ${a.stream}: ${mode === "reset" ? "reset" : "stalled"} share of connections = loss, plus retransmit delay 0..${params.retransmitDelay}ms on an independent share = loss (connection-level, not IP packets)`,
    update: apply,
    stop: async () => [...(await jitter.remove()), ...(await lost.remove())],
  };
}
