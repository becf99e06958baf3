// I8 — TEE when asked: the workload carries the confidential settings the spec asks for, on a size and
// region the backend's rules accept (the same rules that refuse a bad spec before anything is built).
import { sizingIssues, sizingViewOf } from "../../spec/backend-rules";
import type { Finding, Invariant } from "../types";
import { finding } from "./util";

export const i8: Invariant = {
  id: "I8",
  title: "TEE when asked",
  waiverFlags: [],
  check({ graph, spec, rules, specRules }) {
    const wanted = spec.confidential;
    if (wanted === "none") return [];
    const out: Finding[] = [];
    const workloads = rules.compute(graph).filter((c) => c.role === "workload");
    if (workloads.length === 0) return [finding("(graph)", "no workload machine")];
    for (const w of workloads) {
      if (w.tee !== wanted) out.push(finding(w.node, `confidential computing: the spec asks for ${wanted}, the machine has ${w.tee}`));
      const view = { ...sizingViewOf(spec)!, machineType: w.machineType ?? spec.workload.machineType };
      for (const issue of sizingIssues(specRules, view)) out.push(finding(w.node, `${issue.message} (${w.machineType ?? "default size"})`));
    }
    return out;
  },
};
