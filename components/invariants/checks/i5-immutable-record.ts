// I5 — the record is immutable and complete: a retention-locked store (the lock mode and at least the
// retention the spec asks for), versioned, never public, written only from inside the boundary; and
// network flow logs (all traffic) from every boundary network into it. The artifacts and canary
// stores carry the same lock (AWS Object Lock, GCP locked retention, Azure WORM containers): what the
// machines installed and the bait the alarms watch are evidence too, and they are locked by the same
// spec fields (logging.lockMode, retentionDays) and given up by the same flag (unsafe.unlockedLogs).
import type { SandboxSpec } from "../../spec/schema";
import type { GraphNode } from "../graph";
import type { Finding, Invariant } from "../types";
import { finding } from "./util";

/** Findings on one store's lock: absent (waivable only by unsafe.unlockedLogs), weaker mode, shorter retention. */
function lockFindings(node: GraphNode, what: string, lock: { mode: "compliance" | "governance"; days: number } | undefined, spec: SandboxSpec): Finding[] {
  const wanted = spec.logging.lockMode;
  if (!lock) return [finding(node, `${what} is not retention-locked`, "unlockedLogs")];
  const out: Finding[] = [];
  if (wanted !== "none" && lock.mode !== wanted) out.push(finding(node, `${what}: lock mode is ${lock.mode}; the spec asks for ${wanted}`));
  if (lock.days < spec.logging.retentionDays) out.push(finding(node, `${what}: retention is ${lock.days} days; the spec asks for ${spec.logging.retentionDays}`));
  return out;
}

export const i5: Invariant = {
  id: "I5",
  title: "immutable record (locked record and artifacts stores, flow logs)",
  waiverFlags: ["unlockedLogs"],
  check({ graph, spec, rules }) {
    const out: Finding[] = [];
    // The opt-out, named once for the whole verdict: every unlocked store below is waived by it.
    if (spec.logging.lockMode === "none") out.push(finding("(spec)", "logging.lockMode is none: the record and the artifacts and canary stores are not retention-locked (the explicit opt-out)", "unlockedLogs"));
    const stores = rules.recordStores(graph);
    if (stores.length === 0) return [...out, finding("(graph)", "no record store")];
    for (const s of stores) {
      out.push(...lockFindings(s.node, "the log store", s.lock, spec));
      if (!s.versioned) out.push(finding(s.node, "the log store is not versioned (an overwrite would replace the record)"));
      if (!s.publicAccessBlocked) out.push(finding(s.node, "public access to the log store is not blocked"));
      if (!s.writesOnlyFromBoundary) out.push(finding(s.node, "writes and deletes are not limited to the sandbox's private endpoint"));
    }
    const artifactStores = rules.artifactStores(graph);
    for (const a of artifactStores) out.push(...lockFindings(a.node, `the artifacts store (${a.holds})`, a.lock, spec));
    // An in-guest guard installs from an artifacts store: one the facts cannot find is not a pass.
    if (artifactStores.length === 0 && rules.guards(graph).some((g) => g.where === "in-guest")) out.push(finding("(graph)", "the in-guest guard installs from an artifacts store, but no artifacts store is found to check its lock"));
    const storeIds = new Set(stores.map((s) => s.node.id));
    const flowLogs = rules.flowLogs(graph).filter((f) => f.allTraffic && f.toRecord);
    for (const net of rules.networks(graph)) {
      if (!flowLogs.some((f) => f.covers.includes(net.id!))) out.push(finding(net, `no flow log of all traffic into the record (stores: ${[...storeIds].join(", ")})`));
    }
    return out;
  },
};
