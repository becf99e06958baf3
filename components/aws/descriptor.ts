// What the backend list (components/backends.ts) knows of AWS. Pure: the component, and with it
// @pulumi/aws, is loaded only by `loadComponent()`.
import type { BackendDescriptor } from "../backend-descriptor";
import { awsRules } from "./rules";
import * as facts from "./facts";
import { ruleTable } from "../invariants/rule-table";
import { awsMocks } from "./mocks";
import { awsMutations } from "./mutations";
import { awsEquivalence } from "./equivalence";

export const awsBackend: BackendDescriptor = {
  name: "aws",
  title: "AWS",
  labelStyle: "tags",
  rules: awsRules,
  facts: ruleTable(facts),
  mocks: awsMocks,
  mutations: awsMutations,
  equivalence: awsEquivalence,
  loadComponent: () => {
    const { AwsSandbox } = require("./component") as typeof import("./component");
    return (name, args, opts) => new AwsSandbox(name, args, opts);
  },
};
