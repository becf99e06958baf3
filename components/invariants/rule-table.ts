// One way every backend hands its invariant facts to the checks: its facts.ts exports each
// CloudRuleTable field under the field's own name, and the descriptor passes the module namespace
// here. The table is then exactly the module's exports of those names (the type checker refuses a
// facts module that lacks one), with no per-backend literal that repeats the list of fields.
import type { CloudRuleTable } from "./types";

/** Every field of CloudRuleTable, once: a field added to the interface and not here is a type error. */
const FIELDS: { readonly [K in keyof CloudRuleTable]-?: true } = {
  networks: true,
  forbiddenTypes: true,
  routes: true,
  exposures: true,
  openDefaults: true,
  groupRules: true,
  memberships: true,
  placements: true,
  identityUses: true,
  declaredRole: true,
  dns: true,
  policies: true,
  resourceWildcardActions: true,
  compute: true,
  recordStores: true,
  artifactStores: true,
  flowLogs: true,
  canaries: true,
  alarms: true,
  ttl: true,
  guards: true,
  isTaggable: true,
  labelFields: true,
};

/** The rule table read from a facts module's namespace (`import * as facts from "./facts"`); other exports are left out. */
export function ruleTable(facts: CloudRuleTable): CloudRuleTable {
  const table: Partial<Record<keyof CloudRuleTable, unknown>> = {};
  for (const field of Object.keys(FIELDS) as (keyof CloudRuleTable)[]) {
    // A namespace built by a loader that lost an export (e.g. a cycle) fails here, not in a check.
    if (facts[field] === undefined) throw new Error(`facts module exports no '${field}': export it under that name from the backend's facts.ts`);
    table[field] = facts[field];
  }
  return Object.freeze(table) as CloudRuleTable;
}
