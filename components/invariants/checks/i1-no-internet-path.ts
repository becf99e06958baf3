// I1 — no internet path: no internet/NAT/egress-only gateway, no peering or VPN out of the boundary,
// no public address, no route towards public address space, and the platform's default route table
// taken over. Whom a route reaches is derived from placements (member → subnet → route table): a
// route out is excused by unsafe.allowInternet only where it reaches nothing but the gate, and the
// workload's subnet and route table must be its own (so the gate's exception can never reach it).
import { cidrReachesInternet } from "../../spec/net";
import type { Invariant } from "../types";
import { finding, publicAddressWaiver } from "./util";
import { routesWithReach, workloadPlacementShared } from "../reach";

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
    for (const r of routesWithReach(graph, rules)) {
      if (!cidrReachesInternet(r.destination)) continue;
      const beyondGate = r.reaches.filter((role) => role !== "gate");
      if (beyondGate.length) out.push(finding(r.node, `route to ${r.destination} via ${r.via} leads out of the boundary and reaches the ${beyondGate.join(", ")}`));
      else out.push(finding(r.node, `route to ${r.destination} via ${r.via} leads out of the boundary`, "allowInternet"));
    }
    for (const s of workloadPlacementShared(graph, rules)) out.push(finding(s.node, `the workload's network is not its own: ${s.detail}`));
    for (const e of rules.exposures(graph)) out.push(finding(e.node, `${e.role}: ${e.detail}`, publicAddressWaiver(e.role)));
    for (const c of rules.compute(graph)) for (const b of (c.breakouts ?? []).filter((x) => x.concern === "internet-path")) out.push(finding(c.node, `${c.role}: ${b.detail}`, b.waivableBy));
    for (const d of rules.openDefaults(graph).filter((x) => x.concern === "routes")) out.push(finding(d.node ?? "(graph)", d.detail));
    return out;
  },
};
