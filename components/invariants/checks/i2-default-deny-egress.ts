// I2 — default-deny egress. The only ways out: the workload to the egress gate and to the record's
// private endpoint; the gate to the upstreams the spec lists (private endpoints, in-boundary targets,
// private addresses). Nothing reaches public address space (except the gate under
// unsafe.allowInternet), the platform's default egress is taken over, and DNS — which firewalls do not
// see — is limited to an allowlist.
import { cidrReachesInternet } from "../../spec/net";
import type { Finding, FirewallRuleFact, Invariant, Peer } from "../types";
import { finding } from "./util";
import { effectiveFirewallRules, mixedGroups } from "../reach";

function describePeer(p: Peer): string {
  switch (p.kind) {
    case "cidr":
      return p.cidr;
    case "role":
      return `the ${p.role}`;
    case "group":
      return `group ${p.group.name}`;
    case "service":
      return p.detail;
    case "self":
      return "its own group";
    case "unknown":
      return `an unknown peer (${p.ref})`;
  }
}

/** May a resource of this role open connections to this peer? */
function egressAllowed(rule: FirewallRuleFact): boolean {
  const p = rule.peer;
  if (rule.subject === "workload") return (p.kind === "role" && p.role === "gate") || (p.kind === "service" && p.serves.includes("record"));
  if (rule.subject === "gate")
    return (p.kind === "role" && (p.role === "endpoint" || p.role === "target")) || (p.kind === "service" && p.serves !== "other" && p.serves !== "control-plane") || (p.kind === "cidr" && !cidrReachesInternet(p.cidr));
  // An in-boundary guard (Kubernetes kill switch) talks to the platform's API and ships the record.
  if (rule.subject === "guard") return p.kind === "service" && (p.serves === "control-plane" || p.serves === "record");
  return false; // targets, endpoints and unclassified groups initiate nothing
}

export const i2: Invariant = {
  id: "I2",
  title: "default-deny egress (gate and record endpoint only)",
  waiverFlags: ["allowInternet"],
  check({ graph, rules }) {
    const out: Finding[] = [];
    for (const d of rules.openDefaults(graph).filter((x) => x.concern === "egress")) out.push(finding(d.node ?? "(graph)", d.detail));
    // Who is in which group comes from the members' own references: a workload that is also in the
    // gate's group may open whatever the gate may, and is reported as such.
    for (const m of mixedGroups(graph, rules)) out.push(finding(m.group, `firewall group shared by the ${m.roles.join(" and the ")} (${m.via.join(", ")}): each gets the other's rules`));
    for (const r of effectiveFirewallRules(graph, rules).filter((x) => x.direction === "egress")) {
      // An allow of every protocol and port is never needed: each path Airlock opens names its port.
      if (r.ports === "all") out.push(finding(r.node, `${r.subject} allows every protocol and port to ${describePeer(r.peer)}`, r.subject === "gate" && r.peer.kind === "cidr" && cidrReachesInternet(r.peer.cidr) ? "allowInternet" : undefined));
      if (r.peer.kind === "cidr" && cidrReachesInternet(r.peer.cidr)) {
        out.push(finding(r.node, `${r.subject} may open ${r.ports} to ${r.peer.cidr} (public address space)`, r.subject === "gate" ? "allowInternet" : undefined));
      } else if (!egressAllowed(r)) {
        out.push(finding(r.node, `${r.subject} may open ${r.ports} to ${describePeer(r.peer)}; allowed: ${r.subject === "workload" ? "the gate and the record's endpoint" : r.subject === "gate" ? "listed upstreams" : r.subject === "guard" ? "the platform's API server and the record's endpoint" : "nothing"}`));
      }
    }
    const dns = rules.dns(graph);
    if (!dns.restricted) out.push(finding(dns.nodes[0] ?? "(graph)", `DNS is an open egress path: ${dns.detail}`));
    return out;
  },
};
