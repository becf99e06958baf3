// The last gate before anything is registered: the component refuses a spec this backend cannot
// build even when it was not parsed through `parseSpec` (a caller that builds a SandboxSpec by hand).
// Same rules as validation, same SpecError.
import { SpecError, SpecIssue } from "../spec/issues";
import { sizingIssues, sizingViewOf } from "../spec/backend-rules";
import type { SandboxSpec } from "../spec/schema";
import { awsRules, awsSpecIssues } from "./rules";

export function assertAwsBuildable(spec: SandboxSpec): void {
  const issues: SpecIssue[] = [];
  if (spec.backend !== "aws") issues.push({ path: "backend", value: spec.backend, message: "the aws component builds aws sandboxes only", fix: "use backend: aws, or the component of that backend" });
  if (!spec.region) issues.push({ path: "region", value: spec.region, message: "backend 'aws' needs a region", fix: "add region: (e.g. us-east-2)" });
  const view = sizingViewOf(spec);
  if (view) issues.push(...sizingIssues(awsRules, view));
  issues.push(...awsSpecIssues(spec));
  if (issues.length) throw new SpecError(issues, `aws sandbox '${spec.name}'`);
}
