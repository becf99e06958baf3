// What every VM backend's egress gate is given, and the Toxiproxy proxy list it runs: one listener per
// allowed upstream, on all of the gate's addresses (the firewall, not the bind address, decides who
// may connect). Only how each cloud starts the gate instance differs (aws/gate.ts, gcp/gate.ts).
import type { ToxiproxyInstall } from "./boot";

/** A listener on the gate, as each cloud's plan (plan.ts) lays it out. */
export interface GateListenerLike {
  name: string;
  listenPort: number;
  /** host:port the gate forwards to. */
  upstream: string;
}

/** The Toxiproxy proxies for the plan's listeners, all enabled from boot. */
export function toxiproxyProxies(listeners: readonly GateListenerLike[]): ToxiproxyInstall["proxies"] {
  return listeners.map((l) => ({ name: l.name, listen: `0.0.0.0:${l.listenPort}`, upstream: l.upstream, enabled: true }));
}
