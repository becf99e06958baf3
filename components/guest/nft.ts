// The guest's own nftables table: defence in depth under the cloud firewall. The workload's uid may
// open connections to the gate listeners and to loopback (the canary endpoint) only; everything else
// it sends is counted in the local backend's denied counters (DENIED_COUNTERS, components/local/nft.ts)
// and rejected at once, so the denied-egress rule reads the same counters it reads on a host. Every
// other uid (the guard, the log shipper, the platform's agents) may reach what the cloud lists, each by
// address — the record store, the resolver, the time server, and (root only) the metadata server — and
// nothing else; their denials are counted apart ("system_denied") and never count against the workload.
import { allowedCounter, DENIED_COUNTERS } from "../local/nft";
import { assertGuestAddress, GuestAllow, GuestGuardConfig } from "./config";

function systemRule(a: GuestAllow, i: number): string {
  // Refused here too, not only where the cloud builds the list: a config written by hand (or an old
  // one) must not load a rule for "any address".
  assertGuestAddress(`nft.system[${i}].address`, a.address);
  if (a.uid !== undefined && !(Number.isInteger(a.uid) && a.uid >= 0)) throw new Error(`nft.system[${i}].uid: ${JSON.stringify(a.uid)} is not a uid (a whole number ≥ 0; leave it out for every system uid)`);
  const who = a.uid === undefined ? "" : `meta skuid ${a.uid} `;
  return `    ${who}ip daddr ${a.address} ${a.proto} dport ${a.port} accept`;
}

export function guestRuleset(nft: GuestGuardConfig["nft"], workloadUid: number): string {
  const counters = [...nft.gate.map((_, i) => allowedCounter(i)), ...DENIED_COUNTERS, "system_denied", "inbound_denied"];
  const gate = nft.gate.map((g, i) => `    meta nfproto ipv4 ip daddr ${g.address} tcp dport ${g.port} ct state new counter name "${allowedCounter(i)}" accept`);
  return `table inet ${nft.table} {
${counters.map((n) => `  counter ${n} { }`).join("\n")}
  chain output {
    type filter hook output priority 0; policy drop;
    oif "lo" accept
    ct state established,related accept
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, mld-listener-report, mld2-listener-report } accept
${gate.join("\n")}
    meta skuid != ${workloadUid} jump system_out
    meta l4proto tcp counter name "denied_tcp" reject with tcp reset
    meta l4proto udp counter name "denied_udp" reject
    meta l4proto { icmp, ipv6-icmp } counter name "denied_icmp" reject with icmpx type admin-prohibited
    counter name "denied_other" reject with icmpx type admin-prohibited
  }
  chain system_out {
${nft.system.map(systemRule).join("\n")}
    counter name "system_denied" reject with icmpx type admin-prohibited
  }
  chain input {
    type filter hook input priority 0; policy drop;
    iif "lo" accept
    ct state established,related accept
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } accept
    counter name "inbound_denied" drop
  }
}
`;
}
