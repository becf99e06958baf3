// I1 — no internet path: no internet/NAT/egress-only gateway, no peering or VPN out of the boundary,
// no public address, no route towards public address space, and the platform's default route table
// taken over.
import { cidrReachesInternet } from "../../spec/net";
import type { Invariant } from "../types";
import { finding, publicAddressWaiver } from "./util";

export const i1: Invariant = {
  id: "I1",
  title: "no internet path",
  waiverFlags: ["allowInternet", "allowPublicIp"],
  check({ graph, rules }) {
    const out = [];
    for (const node of graph.resources) {
      const forbidden = rules.forbiddenTypes[node.type];
      if (forbidden?.concern === "internet-path") out.push(finding(node, forbidden.why, forbidden.waivableBy));
    }
    for (const r of rules.routes(graph)) {
      if (cidrReachesInternet(r.destination)) out.push(finding(r.node, `route to ${r.destination} via ${r.via} leads out of the boundary`, "allowInternet"));
    }
    for (const e of rules.exposures(graph)) out.push(finding(e.node, `${e.role}: ${e.detail}`, publicAddressWaiver(e.role)));
    for (const d of rules.openDefaults(graph).filter((x) => x.concern === "routes")) out.push(finding(d.node ?? "(graph)", d.detail));
    return out;
  },
};
