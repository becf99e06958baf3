// I9 — every kill rule of the spec is wired: the workload is watched by a guard whose config (as the
// graph delivers it: a VM's first-boot script, a pod's ConfigMap) holds each of the spec's rules with
// the spec's thresholds, is installed and started before the workload, and — in a VM, where the TTL
// moved into the guard — ends the sandbox at the expiry; its artifacts are in the artifacts store; and
// — in a VM — the workload reaches the metadata server only through the guard's metadata filter, run
// as a uid of its own (the filter's refusals count toward denied-egress).
// Read from the resource graph, never from what the component says it did.
import type { Finding, Invariant } from "../types";
import { finding } from "./util";

const CLOCK_SKEW_MS = 1000;

export const i9: Invariant = {
  id: "I9",
  title: "every kill rule wired (the workload's guard)",
  waiverFlags: ["canaryAlertOnly"],
  check({ graph, spec, rules }) {
    const out: Finding[] = [];
    const guards = rules.guards(graph);
    const workloads = rules.compute(graph).filter((c) => c.role === "workload");
    const ttlAt = rules.ttl(graph).map((t) => t.at?.getTime()).filter((t): t is number => t !== undefined);
    for (const w of workloads) {
      const mine = guards.filter((g) => g.guards.includes(w.node.id!));
      if (mine.length === 0) {
        if (spec.killSwitch.rules.length > 0) out.push(finding(w.node, `no guard watches the workload: the kill rules ${spec.killSwitch.rules.map((r) => r.on).join(", ")} are not wired`));
        continue;
      }
      for (const g of mine) {
        for (const m of g.missing) out.push(finding(g.node, `the guard's install lacks ${m}`));
        for (const r of spec.killSwitch.rules) {
          const have = g.rules.find((x) => x.on === r.on);
          if (!have) out.push(finding(g.node, `the guard lacks the kill rule '${r.on}'`, r.on === "canary" ? "canaryAlertOnly" : undefined));
          else if (r.on === "denied-egress" && have.threshold !== r.threshold) out.push(finding(g.node, `the guard kills at ${have.threshold} denied connections, the spec at ${r.threshold}`));
        }
        if (g.where === "in-guest" && g.metadata) {
          // The kill rules read the guard's config; the metadata server serves it (the boot script) to whoever may ask.
          if (!g.metadata.filter) out.push(finding(g.node, "the guard has no metadata filter: the workload's requests to the metadata server (which serves the boot script, the guard's config and canary list) are neither limited to its credentials nor counted as denied egress"));
          else if (!(Number.isInteger(g.metadata.filterUid) && g.metadata.filterUid! > 0)) out.push(finding(g.node, `the guard's metadata filter runs as ${g.metadata.filterUid === undefined ? "the guard (root)" : `uid ${g.metadata.filterUid}`}, not a uid of its own: the workload's requests would be parsed as root`));
          for (const d of g.metadata.direct) out.push(finding(g.node, `the workload's uid reaches the metadata server directly, around the filter: ${d}`));
        }
        if (g.where === "in-guest") {
          if (!g.expiresAt) out.push(finding(g.node, "the guard has no expiry (the in-guest TTL is the guard's)"));
          else if (ttlAt.length && !ttlAt.some((t) => Math.abs(t - g.expiresAt!.getTime()) <= CLOCK_SKEW_MS)) out.push(finding(g.node, `the guard powers off at ${g.expiresAt.toISOString()}, the platform TTL at ${new Date(ttlAt[0]).toISOString()}`));
        }
        for (const a of g.artifacts) if (!a.stored) out.push(finding(g.node, `the guard's artifact ${a.key} is not in the artifacts store`));
      }
    }
    return out;
  },
};
