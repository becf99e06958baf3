// The conformance table: I1–I9 over any backend's resource graph. Each invariant is written once
// (checks/), each backend contributes its facts (components/<backend>/facts.ts, through its
// descriptor). A verdict is
//   pass    no findings, and the spec waives nothing this invariant covers;
//   waived  every finding is allowed by an unsafe.* flag the spec sets (or the spec sets one and the
//           graph happens to comply — the guarantee was given up, so it is not claimed);
//   fail    at least one finding no flag allows.
import type { SandboxSpec } from "../spec/schema";
import type { ResourceGraph } from "./graph";
import type { Invariant, InvariantContext, Verdict } from "./types";
import type { BackendDescriptor } from "../backend-descriptor";
import { descriptorOf } from "../backends";
import { i1 } from "./checks/i1-no-internet-path";
import { i2 } from "./checks/i2-default-deny-egress";
import { i3 } from "./checks/i3-no-ingress";
import { i4 } from "./checks/i4-least-privilege";
import { i5 } from "./checks/i5-immutable-record";
import { i6 } from "./checks/i6-canaries";
import { i7 } from "./checks/i7-ephemeral";
import { i8 } from "./checks/i8-tee";
import { i9 } from "./checks/i9-kill-rules";

export * from "./types";
export { ResourceGraph, GraphNode, describeNode } from "./graph";

export const INVARIANTS: readonly Invariant[] = [i1, i2, i3, i4, i5, i6, i7, i8, i9];

export function verdictOf(invariant: Invariant, ctx: InvariantContext): Verdict {
  const { spec } = ctx;
  const findings = invariant.check(ctx).map((f) => ({ ...f, waived: !!f.waivableBy && spec.unsafe[f.waivableBy] }));
  // Flags this invariant lists, plus any flag that actually excused a finding: a verdict that needed
  // an excuse is never a plain pass.
  const used = findings.filter((f) => f.waived).map((f) => f.waivableBy!);
  const waivedBy = [...new Set([...invariant.waiverFlags.filter((flag) => spec.unsafe[flag]), ...used])];
  const status = findings.some((f) => !f.waived) ? "fail" : waivedBy.length > 0 ? "waived" : "pass";
  return { id: invariant.id, title: invariant.title, status, findings, waivedBy };
}

/** The context the checks read: the graph, the spec, and what the backend's descriptor says about it. */
export function invariantContext(graph: ResourceGraph, spec: SandboxSpec, backend: BackendDescriptor = descriptorOf(spec.backend)!): InvariantContext {
  if (!backend.facts) throw new Error(`backend '${backend.name}' has no invariant facts yet (components/${backend.name}/facts.ts, named by its descriptor)`);
  return { graph, spec, rules: backend.facts, labelStyle: backend.labelStyle, specRules: backend.rules };
}

/** Every invariant's verdict for a graph built from `spec` (facts chosen by spec.backend's descriptor). */
export function checkInvariants(graph: ResourceGraph, spec: SandboxSpec, backend?: BackendDescriptor): Verdict[] {
  const ctx = invariantContext(graph, spec, backend);
  return INVARIANTS.map((inv) => verdictOf(inv, ctx));
}

export function allPass(verdicts: Verdict[]): boolean {
  return verdicts.every((v) => v.status !== "fail");
}

/** Human-readable verdicts: one line each, then the findings of those that did not pass. */
export function formatVerdicts(verdicts: Verdict[]): string {
  const lines: string[] = [];
  for (const v of verdicts) {
    const flags = v.waivedBy.length ? ` (by ${v.waivedBy.map((f) => `unsafe.${f}`).join(", ")})` : "";
    lines.push(`${v.status.toUpperCase().padEnd(6)} ${v.id} ${v.title}${v.status === "waived" ? flags : ""}`);
    for (const f of v.findings) lines.push(`         ${f.waived ? "waived" : "-"} ${f.resource}: ${f.message}${f.waived ? ` [unsafe.${f.waivableBy}]` : ""}`);
  }
  return lines.join("\n");
}
