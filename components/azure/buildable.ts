// The last gate before anything is registered: the component refuses a spec this backend cannot build
// even when it was not parsed through `parseSpec`. Same rules as validation, same SpecError.
import { SpecError, SpecIssue } from "../spec/issues";
import { sizingIssues, sizingViewOf } from "../spec/backend-rules";
import type { SandboxSpec } from "../spec/schema";
import { azureRules, azureSpecIssues } from "./rules";

export function assertAzureBuildable(spec: SandboxSpec): void {
  const issues: SpecIssue[] = [];
  if (spec.backend !== "azure") issues.push({ path: "backend", value: spec.backend, message: "the azure component builds azure sandboxes only", fix: "use backend: azure, or the component of that backend" });
  if (!spec.region) issues.push({ path: "region", value: spec.region, message: "backend 'azure' needs a region", fix: "add region: (an Azure location, e.g. westeurope)" });
  const view = sizingViewOf(spec);
  if (view) issues.push(...sizingIssues(azureRules, view));
  issues.push(...azureSpecIssues(spec));
  if (issues.length) throw new SpecError(issues, `azure sandbox '${spec.name}'`);
}
