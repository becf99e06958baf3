// I7 — ephemeral and findable: every taggable resource carries the sandbox id, expiry and owner
// (consistently, so a sweeper can find orphans), and the platform — not only the guest — ends every
// machine at the expiry.
import { LABEL_KEYS, parseExpiryLabel, sandboxLabels } from "../../naming";
import { TTL_MAX_MS } from "../../spec/schema";
import type { Finding, Invariant } from "../types";
import { finding } from "./util";

const CLOCK_SKEW_MS = 1000;

export const i7: Invariant = {
  id: "I7",
  title: "ephemeral (platform TTL, labels on every resource)",
  waiverFlags: ["allowLongTtl"],
  check({ graph, spec, rules, labelStyle }) {
    const out: Finding[] = [];
    const keys = LABEL_KEYS[labelStyle];
    // The owner as this platform spells label values.
    const owner = sandboxLabels({ id: spec.name, expiresAt: new Date(0), owner: spec.owner }, labelStyle)[keys.owner];
    const seen = { sandbox: new Set<string>(), expiresAt: new Set<string>() };
    for (const node of graph.resources.filter((n) => rules.isTaggable(n.type))) {
      for (const field of rules.labelFields(node.type)) {
        const labels = (field.split(".").reduce<any>((v, k) => v?.[k], node.inputs) ?? {}) as Record<string, string>;
        const missing = Object.values(keys).filter((k) => !labels[k]);
        if (missing.length) {
          out.push(finding(node, `${field} lack ${missing.join(", ")}`));
          continue;
        }
        seen.sandbox.add(labels[keys.sandbox]);
        seen.expiresAt.add(labels[keys.expiresAt]);
        if (labels[keys.owner] !== owner) out.push(finding(node, `${field} name owner '${labels[keys.owner]}', the spec '${spec.owner}'`));
      }
    }
    // A fleet (N sandboxes from one spec, Kubernetes) names its members <id>-000, <id>-001, ...: one
    // sandbox id each, one fleet.
    const fleets = new Set([...seen.sandbox].map((id) => (seen.sandbox.size > 1 ? id.replace(/-\d{3,}$/, "") : id)));
    if (fleets.size > 1) out.push(finding("(graph)", `resources name different sandboxes: ${[...seen.sandbox].join(", ")}`));
    for (const id of seen.sandbox) if (!id.startsWith(spec.name.toLowerCase())) out.push(finding("(graph)", `sandbox label '${id}' does not belong to sandbox '${spec.name}'`));
    if (seen.expiresAt.size > 1) out.push(finding("(graph)", `resources name different expiries: ${[...seen.expiresAt].join(", ")}`));

    const ttl = rules.ttl(graph);
    const compute = rules.compute(graph);
    if (ttl.length === 0) out.push(finding("(graph)", "no platform-enforced TTL (only the guest could end the sandbox)"));
    const ttlSeconds = Math.ceil(spec.ttlMs / 1000);
    for (const limit of ttl.flatMap((t) => t.runLimits ?? []))
      if (limit.seconds > ttlSeconds) {
        const role = compute.find((c) => c.node.urn === limit.node.urn)?.role ?? "unknown";
        out.push(finding(limit.node, `${role} may run ${limit.seconds} s from its start (${limit.via}), longer than the TTL ${spec.ttl} (${ttlSeconds} s): the platform would not end it by the expiry`));
      }
    for (const c of compute) {
      if (ttl.length && !ttl.some((t) => t.ends.includes(c.node.id!))) out.push(finding(c.node, `${c.role} is not ended by the platform TTL`));
      if (!c.shutdownDeletes) out.push(finding(c.node, `${c.role}: shutting down from inside does not delete it (the in-guest timer would only stop it)`));
    }
    // The expiry as the naming module reads every label style back (GCP and Kubernetes spell it
    // lowercase with '-' for ':', which Date.parse rejects). A label no style can read is itself a
    // finding: the TTL could then not be compared and a sweeper would leave the resource alone.
    const unreadable = [...seen.expiresAt].filter((s) => !parseExpiryLabel(s));
    for (const s of unreadable) out.push(finding("(graph)", `expiry label '${s}' is not an expiry Airlock writes`));
    const expiry = [...seen.expiresAt].map((s) => parseExpiryLabel(s)?.getTime()).find((t) => t !== undefined);
    for (const t of ttl) {
      if (!t.at) out.push(finding(t.node, "TTL has no fixed time"));
      else if (expiry !== undefined && Math.abs(t.at.getTime() - expiry) > CLOCK_SKEW_MS) out.push(finding(t.node, `TTL fires at ${t.at.toISOString()}, the labels say ${new Date(expiry).toISOString()}`));
    }
    if (spec.ttlMs > TTL_MAX_MS) out.push(finding("(spec)", `TTL ${spec.ttl} is longer than ${TTL_MAX_MS / 3_600_000}h`, "allowLongTtl"));
    return out;
  },
};
