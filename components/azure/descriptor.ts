// What the backend list (components/backends.ts) knows of Azure. Pure: the component, and with it
// @pulumi/azure-native, is loaded only by `loadComponent()`.
import type { BackendDescriptor } from "../backend-descriptor";
import { azureRules } from "./rules";
import * as facts from "./facts";
import { ruleTable } from "../invariants/rule-table";
import { azureMocks } from "./mocks";
import { azureMutations } from "./mutations";
import { azureEquivalence } from "./equivalence";

export const azureBackend: BackendDescriptor = {
  name: "azure",
  title: "Azure",
  labelStyle: "tags",
  rules: azureRules,
  facts: ruleTable(facts),
  mocks: azureMocks,
  mutations: azureMutations,
  equivalence: azureEquivalence,
  loadComponent: () => {
    const { AzureSandbox } = require("./component") as typeof import("./component");
    return (name, args, opts) => new AzureSandbox(name, args, opts);
  },
};
