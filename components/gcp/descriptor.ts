// What the backend list (components/backends.ts) knows of GCP. Pure: the component, and with it
// @pulumi/gcp, is loaded only by `loadComponent()`.
import type { BackendDescriptor } from "../backend-descriptor";
import { gcpRules } from "./rules";
import * as facts from "./facts";
import { ruleTable } from "../invariants/rule-table";
import { gcpMocks } from "./mocks";
import { gcpMutations } from "./mutations";
import { gcpEquivalence } from "./equivalence";

export const gcpBackend: BackendDescriptor = {
  name: "gcp",
  title: "GCP",
  labelStyle: "gcp",
  rules: gcpRules,
  facts: ruleTable(facts),
  mocks: gcpMocks,
  mutations: gcpMutations,
  equivalence: gcpEquivalence,
  loadComponent: () => {
    const { GcpSandbox } = require("./component") as typeof import("./component");
    return (name, args, opts) => new GcpSandbox(name, args, opts);
  },
};
