// nftables for one sandbox, in three places:
//   1. inside the sandbox namespace (output policy drop): only new TCP connections to the gate
//      listeners (and the canary endpoint) leave; everything else is counted and *rejected* — a TCP
//      reset or an ICMP error — so a client fails at once instead of hanging (inspect_k8s_sandbox's
//      lesson). Inbound and forwarded traffic is dropped and counted.
//   2. on the host, for the sandbox's veth: the same allowlist again (defence in depth: the host does
//      not trust the namespace), a rate limit so a scanning workload cannot load the host, reject
//      for the host's other ports, and no forwarding to or from the sandbox.
//   2b. on the host, for the gate's own uid (`meta skuid`, output hook): the gate may open connections
//      only to the spec's upstreams (address and port each), everything else it sends is counted and
//      rejected — the kernel enforces the allowlist, not Toxiproxy; and the translation of privileged
//      listen ports to the ports the non-root gate binds (see gate-confine.ts).
//   3. inside the targets namespace: only the gate (host side of the targets veth) may connect to
//      the target ports; targets cannot open connections at all.
// Every denial goes through a named counter; the guard reads them for the denied-egress kill rule
// and the record. Undo kind "nft-table" deletes a table (a table inside a namespace goes with it).
import { registerUndo, UndoJournal } from "../host/journal";
import { run } from "../host/exec";
import { inNetns, netnsPath } from "./netns";
import * as fs from "fs";

/** Counters inside the sandbox namespace whose sum is "denied egress". */
export const DENIED_COUNTERS = ["denied_tcp", "denied_udp", "denied_icmp", "denied_other"] as const;
export const HOST_DENIED_COUNTERS = ["denied", "forward_denied", "ratelimited"] as const;

export interface GatePort {
  /** The allowed upstream's name (for the summary). */
  upstream: string;
  port: number;
}

/** Named counter of the i-th gate listener (nft object names cannot hold every upstream name). */
export const allowedCounter = (i: number) => `allowed_${i}`;

const counters = (names: string[]) => names.map((n) => `  counter ${n} { }`).join("\n");

export function sandboxRuleset(o: { table: string; hostAddress: string; gate: GatePort[]; canaryPort?: number }): string {
  const allow = o.gate.map((g, i) => `    meta nfproto ipv4 ip daddr ${o.hostAddress} tcp dport ${g.port} ct state new counter name "${allowedCounter(i)}" accept`);
  if (o.canaryPort) allow.push(`    meta nfproto ipv4 ip daddr ${o.hostAddress} tcp dport ${o.canaryPort} ct state new counter name "canary" accept`);
  return `table inet ${o.table} {
${counters([...o.gate.map((_, i) => allowedCounter(i)), "canary", ...DENIED_COUNTERS, "inbound_denied", "forward_denied"])}
  chain output {
    type filter hook output priority 0; policy drop;
    oif "lo" accept
    ct state established,related accept
${allow.join("\n")}
    meta l4proto tcp counter name "denied_tcp" reject with tcp reset
    meta l4proto udp counter name "denied_udp" reject
    meta l4proto { icmp, ipv6-icmp } counter name "denied_icmp" reject with icmpx type admin-prohibited
    counter name "denied_other" reject with icmpx type admin-prohibited
  }
  chain input {
    type filter hook input priority 0; policy drop;
    iif "lo" accept
    ct state established,related accept
    counter name "inbound_denied" drop
  }
  chain forward {
    type filter hook forward priority 0; policy drop;
    counter name "forward_denied" drop
  }
}
`;
}

/** The gate's egress allowlist and port translation (host table); see the header, 2b. */
export interface GateRules {
  uid: number;
  upstreams: { address: string; port: number }[];
  /** Listen ports the gate binds elsewhere (privileged ports). */
  dnat: { listenPort: number; bindPort: number }[];
}

/** Named counter of the gate's connections to its i-th upstream. */
export const gateUpstreamCounter = (i: number) => `gate_upstream_${i}`;
export const GATE_DENIED_COUNTER = "gate_denied";

const daddr = (a: string) => `${a.includes(":") ? "ip6" : "ip"} daddr ${a}`;

function gateRules(o: { hostIface: string; hostAddress: string; gate: GateRules }): { counters: string[]; chains: string } {
  const g = o.gate;
  const allow = g.upstreams.map((u, i) => `    ${daddr(u.address)} tcp dport ${u.port} ct state new counter name "${gateUpstreamCounter(i)}" accept`);
  const nat = g.dnat.map((d) => `ip daddr ${o.hostAddress} tcp dport ${d.listenPort} dnat ip to ${o.hostAddress}:${d.bindPort}`);
  const chains = `  chain gate_output {
    type filter hook output priority -10; policy accept;
    meta skuid ${g.uid} jump gate_egress
  }
  chain gate_egress {
    ct state established,related accept
${allow.join("\n")}${allow.length ? "\n" : ""}    meta l4proto tcp counter name "${GATE_DENIED_COUNTER}" reject with tcp reset
    counter name "${GATE_DENIED_COUNTER}" drop
  }
${
  nat.length
    ? `  chain gate_dnat_in {
    type nat hook prerouting priority dstnat; policy accept;
${nat.map((r) => `    iifname "${o.hostIface}" ${r}`).join("\n")}
  }
  chain gate_dnat_local {
    type nat hook output priority -100; policy accept;
${nat.map((r) => `    ${r}`).join("\n")}
  }
`
    : ""
}`;
  return { counters: [...g.upstreams.map((_, i) => gateUpstreamCounter(i)), GATE_DENIED_COUNTER], chains };
}

export function hostRuleset(o: { table: string; hostIface: string; hostAddress: string; ports: number[]; svcIface?: string; gate?: GateRules }): string {
  const gate = o.gate ? gateRules({ hostIface: o.hostIface, hostAddress: o.hostAddress, gate: o.gate }) : undefined;
  const ifaces = [o.hostIface, ...(o.svcIface ? [o.svcIface] : [])].map((i) => `"${i}"`).join(", ");
  const ports = o.ports.length ? `{ ${o.ports.join(", ")} }` : undefined;
  return `table inet ${o.table} {
${counters(["denied", "forward_denied", "ratelimited", "svc_denied", ...(gate?.counters ?? [])])}
${gate?.chains ?? ""}  chain input {
    type filter hook input priority -10; policy accept;
    iifname "${o.hostIface}" jump from_sandbox
${o.svcIface ? `    iifname "${o.svcIface}" jump from_services\n` : ""}  }
  chain from_sandbox {
    limit rate over 20000/second burst 5000 packets counter name "ratelimited" drop
    ct state established,related accept
${
  ports
    ? `    meta nfproto ipv4 ip daddr ${o.hostAddress} tcp dport ${ports} ct state new limit rate over 200/second burst 100 packets counter name "ratelimited" drop
    meta nfproto ipv4 ip daddr ${o.hostAddress} tcp dport ${ports} ct state new accept\n`
    : ""
}    counter name "denied"
    meta l4proto tcp reject with tcp reset
    reject with icmpx type admin-prohibited
  }
  chain from_services {
    ct state established,related accept
    counter name "svc_denied" drop
  }
  chain forward {
    type filter hook forward priority -10; policy accept;
    iifname { ${ifaces} } counter name "forward_denied" drop
    oifname { ${ifaces} } counter name "forward_denied" drop
  }
}
`;
}

export function servicesRuleset(o: { table: string; gateAddress: string; ports: number[] }): string {
  return `table inet ${o.table} {
${counters(["denied"])}
  chain input {
    type filter hook input priority 0; policy drop;
    iif "lo" accept
    ct state established,related accept
${o.ports.length ? `    meta nfproto ipv4 ip saddr ${o.gateAddress} tcp dport { ${o.ports.join(", ")} } ct state new accept\n` : ""}    counter name "denied" drop
  }
  chain output {
    type filter hook output priority 0; policy drop;
    oif "lo" accept
    ct state established,related accept
    counter name "denied" reject with icmpx type admin-prohibited
  }
  chain forward {
    type filter hook forward priority 0; policy drop;
  }
}
`;
}

function nft(netns: string | undefined, args: string[], input?: string) {
  return netns ? inNetns(netns, "nft", args, { input, allowFail: true }) : run("nft", args, { input, allowFail: true });
}

async function deleteTable(netns: string | undefined, table: string): Promise<void> {
  // A namespace that is gone took its tables with it.
  if (netns && !fs.existsSync(netnsPath(netns))) return;
  const r = await nft(netns, ["delete", "table", "inet", table]);
  if (r.code !== 0 && !/No such file|does not exist/i.test(r.stderr)) throw new Error(`nft delete table inet ${table}: ${r.stderr.trim()}`);
}

registerUndo("nft-table", (a: { netns?: string; table: string }) => deleteTable(a.netns, a.table));

/**
 * Loads a ruleset (one table) atomically. A host table's deletion is journaled first. A table inside
 * a sandbox namespace is not journaled: it lives and dies with that namespace, whose undo was
 * journaled before the table could exist — deleting it separately cost one `nsenter nft` spawn per
 * table at every destroy and removed nothing the namespace's deletion does not.
 */
export async function applyTable(journal: UndoJournal, o: { netns?: string; table: string; ruleset: string }): Promise<void> {
  const where = o.netns ? `in ${o.netns}` : "on the host";
  const load = async () => {
    const r = await nft(o.netns, ["-f", "-"], o.ruleset);
    if (r.code !== 0) throw new Error(`nft table inet ${o.table} ${where} was refused: ${r.stderr.trim()}`);
  };
  if (o.netns) return load();
  await journal.apply("nft-table", `nft table inet ${o.table} ${where}`, { netns: o.netns, table: o.table }, load);
}

export type CounterValues = Record<string, { packets: number; bytes: number }>;

/** Named counters of one table (empty if the table or namespace is gone). */
export async function readCounters(netns: string | undefined, table: string): Promise<CounterValues> {
  if (netns && !fs.existsSync(netnsPath(netns))) return {};
  const r = await nft(netns, ["-j", "list", "counters", "table", "inet", table]);
  if (r.code !== 0) return {};
  const out: CounterValues = {};
  for (const item of JSON.parse(r.stdout).nftables ?? []) {
    if (item.counter) out[item.counter.name] = { packets: item.counter.packets, bytes: item.counter.bytes };
  }
  return out;
}

export function sumPackets(values: CounterValues, names: readonly string[]): number {
  return names.reduce((s, n) => s + (values[n]?.packets ?? 0), 0);
}
