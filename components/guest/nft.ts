// The guest's own nftables table: defence in depth under the cloud firewall. The workload's uid may
// open connections to the gate listeners and to loopback (the canary endpoint) only; everything else
// it sends is counted in the local backend's denied counters (DENIED_COUNTERS, components/local/nft.ts)
// and rejected at once, so the denied-egress rule reads the same counters it reads on a host. Every
// other uid (the guard, the log shipper, the platform's agents) may reach what the cloud lists, each by
// address — the record store, the resolver, the time server, and (root only) the metadata server — and
// nothing else; their denials are counted apart ("system_denied") and never count against the workload.
// The workload's connections to the metadata server are redirected (nat output, before the filter
// chain sees them) to the guard's metadata filter on loopback (./metadata-filter.ts), so a program that
// hard-codes 169.254.169.254 still gets its credentials, and nothing else of the server's.
import { allowedCounter, DENIED_COUNTERS } from "../local/nft";
import { assertGuestAddress, GuestAllow, GuestGuardConfig } from "./config";
import { assertMetadataAllow, MetadataFilterConfig } from "./metadata-filter";

function systemRule(a: GuestAllow, i: number): string {
  // Refused here too, not only where the cloud builds the list: a config written by hand (or an old
  // one) must not load a rule for "any address".
  assertGuestAddress(`nft.system[${i}].address`, a.address);
  if (a.uid !== undefined && !(Number.isInteger(a.uid) && a.uid >= 0)) throw new Error(`nft.system[${i}].uid: ${JSON.stringify(a.uid)} is not a uid (a whole number ≥ 0; leave it out for every system uid)`);
  const who = a.uid === undefined ? "" : `meta skuid ${a.uid} `;
  return `    ${who}ip daddr ${a.address} ${a.proto} dport ${a.port} accept`;
}

/**
 * The nat chain sending the workload's metadata connections to the filter. `redirect` of a locally
 * generated packet rewrites it to 127.0.0.1, so the filter must listen there; the filter chain then
 * sees a loopback connection (`oif "lo" accept`). Only the workload's uid: the filter's own upstream
 * connection (root's) must reach the real server.
 */
function metadataRedirect(m: MetadataFilterConfig, workloadUid: number): string {
  if (m.listen.address !== "127.0.0.1") throw new Error(`nft.metadata.listen.address: ${JSON.stringify(m.listen.address)} — the redirect of a local connection lands on 127.0.0.1, so the filter must listen there`);
  for (const [f, port] of [["listen", m.listen.port], ["upstream", m.upstream.port]] as const)
    if (!(Number.isInteger(port) && port > 0 && port < 65536)) throw new Error(`nft.metadata.${f}.port: ${JSON.stringify(port)} is not a TCP port`);
  assertGuestAddress("nft.metadata.upstream.address", m.upstream.address);
  assertMetadataAllow("nft.metadata.allow", m.allow);
  if (m.uid !== undefined && !(Number.isInteger(m.uid) && m.uid > 0 && m.uid !== workloadUid)) throw new Error(`nft.metadata.uid: ${JSON.stringify(m.uid)} — the filter's own uid must be a non-root uid other than the workload's (${workloadUid})`);
  return `  chain metadata_redirect {
    type nat hook output priority -100; policy accept;
    meta skuid ${workloadUid} ip daddr ${m.upstream.address} tcp dport ${m.upstream.port} counter name "metadata_redirected" redirect to :${m.listen.port}
  }
`;
}

/**
 * The filter chain's accept for a redirected metadata connection. `oif "lo"` does not see it: the
 * hook's output device stays the one routed before the nat chain rewrote the address (the reroute
 * changes the packet's route, not the hook's device), so it is matched by its new address and the
 * conntrack's DNAT mark instead.
 */
function metadataAccept(m: MetadataFilterConfig | undefined): string[] {
  return m ? [`    ip daddr 127.0.0.1 tcp dport ${m.listen.port} ct status dnat accept`] : [];
}

/**
 * The system chain's accepts. The metadata filter's uid gets its own rules first and then nothing:
 * it parses the workload's requests, so were it taken over it must not reach the stores, the
 * resolver or any other system endpoint — only the metadata server, as root does.
 */
function systemRules(nft: GuestGuardConfig["nft"]): string[] {
  const rules = nft.system.map(systemRule);
  const filterUid = nft.metadata?.uid;
  if (filterUid === undefined) return rules;
  const own = nft.system.map((a, i) => (a.uid === filterUid ? rules[i] : undefined)).filter((r): r is string => r !== undefined);
  return [...own, `    meta skuid ${filterUid} counter name "system_denied" reject with icmpx type admin-prohibited`, ...rules.filter((r) => !own.includes(r))];
}

export function guestRuleset(nft: GuestGuardConfig["nft"], workloadUid: number): string {
  const counters = [...nft.gate.map((_, i) => allowedCounter(i)), ...DENIED_COUNTERS, "system_denied", "inbound_denied", ...(nft.metadata ? ["metadata_redirected"] : [])];
  const gate = nft.gate.map((g, i) => `    meta nfproto ipv4 ip daddr ${g.address} tcp dport ${g.port} ct state new counter name "${allowedCounter(i)}" accept`);
  return `table inet ${nft.table} {
${counters.map((n) => `  counter ${n} { }`).join("\n")}
  chain output {
    type filter hook output priority 0; policy drop;
    oif "lo" accept
${metadataAccept(nft.metadata).join("\n")}${nft.metadata ? "\n" : ""}    ct state established,related accept
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, mld-listener-report, mld2-listener-report } accept
${gate.join("\n")}
    meta skuid != ${workloadUid} jump system_out
    meta l4proto tcp counter name "denied_tcp" reject with tcp reset
    meta l4proto udp counter name "denied_udp" reject
    meta l4proto { icmp, ipv6-icmp } counter name "denied_icmp" reject with icmpx type admin-prohibited
    counter name "denied_other" reject with icmpx type admin-prohibited
  }
  chain system_out {
${systemRules(nft).join("\n")}
    counter name "system_denied" reject with icmpx type admin-prohibited
  }
  chain input {
    type filter hook input priority 0; policy drop;
    iif "lo" accept
    ct state established,related accept
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } accept
    counter name "inbound_denied" drop
  }
${nft.metadata ? metadataRedirect(nft.metadata, workloadUid) : ""}}
`;
}
