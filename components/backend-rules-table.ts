// Each backend's spec rules (components/<backend>/rules.ts), without the rest of its descriptor.
// Validating a spec needs only these; the descriptors (components/backends.ts) also carry the
// invariant facts, mocks and mutations, which load @pulumi/pulumi and its gRPC and npm machinery —
// ~1000 modules and ~90 MiB that every process validating a spec (the CLI, `airlock serve`, the
// supervisor) would otherwise carry, and that each of its spawns then pays for in fork/exec time.
// The descriptors take their `rules` from the same modules, so there is one copy of each rule.
import type { Backend } from "./spec/schema";
import type { BackendRules } from "./spec/backend-rules";
import { awsRules } from "./aws/rules";
import { gcpRules } from "./gcp/rules";
import { azureRules } from "./azure/rules";
import { kubernetesRules } from "./kubernetes/rules";
import { localRules } from "./local/rules";

const RULES: Readonly<Record<Backend, BackendRules>> = {
  aws: awsRules,
  gcp: gcpRules,
  azure: azureRules,
  kubernetes: kubernetesRules,
  local: localRules,
};

/** The spec rules of `backend`, or undefined for a name that is not a backend. */
export function rulesOf(backend: string): BackendRules | undefined {
  // Own keys only: a document's `backend: constructor` (or __proto__) must not find Object's members.
  return Object.prototype.hasOwnProperty.call(RULES, backend) ? (RULES as Record<string, BackendRules>)[backend] : undefined;
}
