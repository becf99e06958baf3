// I5 — the record is immutable and complete: a retention-locked store (the lock mode and at least the
// retention the spec asks for), versioned, never public, written only from inside the boundary; and
// network flow logs (all traffic) from every boundary network into it.
import type { Finding, Invariant } from "../types";
import { finding } from "./util";

export const i5: Invariant = {
  id: "I5",
  title: "immutable record (locked store, flow logs)",
  waiverFlags: ["unlockedLogs"],
  check({ graph, spec, rules }) {
    const out: Finding[] = [];
    const stores = rules.recordStores(graph);
    if (stores.length === 0) return [finding("(graph)", "no record store")];
    const wanted = spec.logging.lockMode;
    for (const s of stores) {
      if (!s.lock) out.push(finding(s.node, "the log store is not retention-locked", "unlockedLogs"));
      else {
        if (wanted !== "none" && s.lock.mode !== wanted) out.push(finding(s.node, `lock mode is ${s.lock.mode}; the spec asks for ${wanted}`));
        if (s.lock.days < spec.logging.retentionDays) out.push(finding(s.node, `retention is ${s.lock.days} days; the spec asks for ${spec.logging.retentionDays}`));
      }
      if (!s.versioned) out.push(finding(s.node, "the log store is not versioned (an overwrite would replace the record)"));
      if (!s.publicAccessBlocked) out.push(finding(s.node, "public access to the log store is not blocked"));
      if (!s.writesOnlyFromBoundary) out.push(finding(s.node, "writes and deletes are not limited to the sandbox's private endpoint"));
    }
    const storeIds = new Set(stores.map((s) => s.node.id));
    const flowLogs = rules.flowLogs(graph).filter((f) => f.allTraffic && f.toRecord);
    for (const net of rules.networks(graph)) {
      if (!flowLogs.some((f) => f.covers.includes(net.id!))) out.push(finding(net, `no flow log of all traffic into the record (stores: ${[...storeIds].join(", ")})`));
    }
    return out;
  },
};
