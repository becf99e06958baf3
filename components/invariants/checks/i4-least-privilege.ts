// I4 — least privilege: no wildcard or negated allows, `*` resources only for actions the platform
// cannot scope, no resource/endpoint policy open to any principal without conditions, no opaque
// (managed) grants, instance metadata hardened, no SSH keys handed in, the workload not root.
import type { Finding, Invariant, PolicyFact, PolicyStatementFact } from "../types";
import { finding } from "./util";
import { sharedIdentities } from "../reach";

const WHOLE_SERVICE = /^arn:[^:]+:[^:]*:[^:]*:[^:]*:\*$/;

function statementFindings(p: PolicyFact, s: PolicyStatementFact, wildcardOk: ReadonlySet<string>): string[] {
  if (s.effect !== "Allow") return [];
  const problems: string[] = [];
  const wild = s.actions.filter((a) => a.includes("*"));
  if (wild.length) problems.push(`allows wildcard action(s) ${wild.join(", ")}`);
  if (s.negated) problems.push("allows by exclusion (NotAction/NotResource)");
  const everything = s.resources.filter((r) => r === "*" || WHOLE_SERVICE.test(r));
  const unscopable = s.actions.filter((a) => !wildcardOk.has(a));
  if (everything.length && unscopable.length) problems.push(`allows ${unscopable.join(", ")} on every resource (${everything.join(", ")})`);
  if (s.anyPrincipal && !s.conditioned && p.kind !== "identity") problems.push("allows any principal without conditions");
  return problems;
}

export const i4: Invariant = {
  id: "I4",
  title: "least privilege (no wildcards, hardened metadata, no SSH keys)",
  waiverFlags: ["allowMetadataV1", "runAsRoot"],
  check({ graph, rules }) {
    const out: Finding[] = [];
    for (const p of rules.policies(graph)) {
      if (p.opaque) out.push(finding(p.node, `grants ${p.opaque}, whose contents cannot be checked; write the statements out`));
      for (const s of p.statements) for (const problem of statementFindings(p, s, rules.resourceWildcardActions)) out.push(finding(p.node, `${p.kind} policy ${problem}`));
    }
    // Which identity a machine runs as comes from its own reference (instance profile, service account).
    for (const s of sharedIdentities(graph, rules)) out.push(finding(s.identity, `one identity used by the ${s.roles.join(" and the ")}: each holds the other's grants`));
    for (const c of rules.compute(graph)) {
      if (!c.metadata.hardened) out.push(finding(c.node, `instance metadata not hardened: ${c.metadata.detail}`, "allowMetadataV1"));
      if (c.sshKey) out.push(finding(c.node, `SSH key handed to the instance (${c.sshKey})`));
      if (c.role === "workload" && c.runsAs !== undefined && c.runsAs === "root") out.push(finding(c.node, "the workload runs as root", "runAsRoot"));
      for (const b of (c.breakouts ?? []).filter((x) => x.concern === "privilege")) out.push(finding(c.node, `${c.role}: ${b.detail}`, b.waivableBy));
      if (c.role === "workload" && c.runsAs === undefined) out.push(finding(c.node, "cannot tell which user the workload runs as"));
    }
    for (const node of graph.resources) {
      const forbidden = rules.forbiddenTypes[node.type];
      if (forbidden?.concern === "credential-injection") out.push(finding(node, forbidden.why, forbidden.waivableBy));
    }
    return out;
  },
};
