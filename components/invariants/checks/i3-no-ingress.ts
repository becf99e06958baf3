// I3 — nothing reaches into the boundary from outside, and no lateral movement: the workload accepts
// no connection at all, the gate only from the workload, targets and endpoints only from inside (the
// gate, or the workload for endpoints), and nothing trusts its own group.
import { cidrReachesInternet } from "../../spec/net";
import type { Finding, FirewallRuleFact, Invariant } from "../types";
import { finding, publicAddressWaiver } from "./util";
import { effectiveFirewallRules } from "../reach";

function ingressAllowed(rule: FirewallRuleFact): boolean {
  const p = rule.peer;
  // The chaos runner (Airlock's control plane) drives the gate's fault injection on its admin port.
  if (p.kind === "service" && p.serves === "control-plane") return rule.subject === "gate";
  if (p.kind !== "role") return false;
  if (rule.subject === "gate") return p.role === "workload";
  if (rule.subject === "target") return p.role === "gate";
  if (rule.subject === "endpoint") return p.role === "gate" || p.role === "workload";
  return false; // the workload and unclassified groups accept nothing
}

export const i3: Invariant = {
  id: "I3",
  title: "no ingress from outside, no lateral movement",
  waiverFlags: ["allowPublicIp", "allowInternet"],
  check({ graph, rules }) {
    const out: Finding[] = [];
    for (const d of rules.openDefaults(graph).filter((x) => x.concern === "ingress")) out.push(finding(d.node ?? "(graph)", d.detail));
    for (const r of effectiveFirewallRules(graph, rules).filter((x) => x.direction === "ingress")) {
      if (r.ports === "all") out.push(finding(r.node, `${r.subject} accepts every protocol and port`));
      if (r.peer.kind === "cidr" && cidrReachesInternet(r.peer.cidr)) out.push(finding(r.node, `${r.subject} accepts ${r.ports} from ${r.peer.cidr} (outside the boundary)`, r.subject === "workload" ? "allowPublicIp" : undefined));
      else if (r.peer.kind === "self") out.push(finding(r.node, `${r.subject} accepts ${r.ports} from its own group (lateral movement)`));
      else if (!ingressAllowed(r)) out.push(finding(r.node, `${r.subject} accepts ${r.ports} from ${r.peer.kind === "role" ? `the ${r.peer.role}` : r.peer.kind === "cidr" ? r.peer.cidr : "an unlisted peer"}`));
    }
    // A public address is reachable from outside even without a rule naming it (I1 counts it too).
    for (const e of rules.exposures(graph)) out.push(finding(e.node, `${e.role} is addressable from the internet: ${e.detail}`, publicAddressWaiver(e.role)));
    return out;
  },
};
