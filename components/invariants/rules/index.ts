// Rule tables by backend. A backend's invariants can be checked once its table is here; the checks
// themselves never change. (GCP, Azure and Kubernetes tables land with their components.)
import type { Backend } from "../../spec/schema";
import type { CloudRuleTable } from "../types";
import { awsRuleTable } from "./aws";
import { azureRuleTable } from "../../azure/facts";

const TABLES: Partial<Record<Backend, CloudRuleTable>> = {
  aws: awsRuleTable,
  azure: azureRuleTable,
};

export function ruleTableFor(backend: Backend): CloudRuleTable {
  const table = TABLES[backend];
  if (!table) throw new Error(`no invariant rule table for backend '${backend}' yet (components/invariants/rules/${backend}.ts)`);
  return table;
}
