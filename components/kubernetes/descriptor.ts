// What the backend list (components/backends.ts) knows of Kubernetes. Pure: the component (index.ts
// -> component.ts), and with it @pulumi/kubernetes, is loaded only by `loadComponent()`. Invariant
// facts (facts.ts) read the rendered manifests; the default mock answers suffice (no computed outputs).
import type { BackendDescriptor } from "../backend-descriptor";
import { kubernetesRules } from "./rules";
import * as facts from "./facts";
import { ruleTable } from "../invariants/rule-table";
import { kubernetesMutations, kubernetesNotApplicable } from "./mutations";
import { kubernetesEquivalence } from "./equivalence";

export const kubernetesBackend: BackendDescriptor = {
  name: "kubernetes",
  title: "Kubernetes",
  labelStyle: "kubernetes",
  rules: kubernetesRules,
  facts: ruleTable(facts),
  mutations: kubernetesMutations,
  mutationsNotApplicable: kubernetesNotApplicable,
  equivalence: kubernetesEquivalence,
  loadComponent: () => {
    const { buildKubernetes } = require("./index") as typeof import("./index");
    return (name, args, opts) => buildKubernetes(name, args, opts);
  },
};
