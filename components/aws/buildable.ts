// The last gate before anything is registered: the component refuses a spec this backend cannot
// build even when it was not parsed through `parseSpec` (a caller that builds a SandboxSpec by hand).
// Same rules as validation, same SpecError.
import { SpecError, SpecIssue } from "../spec/issues";
import { sizingIssues, sizingViewOf } from "../spec/backend-rules";
import type { SandboxSpec } from "../spec/schema";
import { awsRules, awsSpecIssues } from "./rules";

/**
 * The stack's `aws:region` (the ambient provider's region: what `pulumi config`, `aws:` lookups and
 * any resource without the sandbox's provider use) must be the spec's region: a mismatch would put
 * parts of one sandbox in two regions. Absent is fine — the sandbox's own provider takes spec.region.
 */
export function regionMismatch(spec: SandboxSpec, configRegion: string | undefined): SpecIssue | undefined {
  if (!configRegion || !spec.region || configRegion === spec.region) return undefined;
  return { path: "region", value: spec.region, message: `the stack's aws:region is '${configRegion}' but the spec's region is '${spec.region}'`, fix: `make them the same: pulumi config set aws:region ${spec.region} (or change region: in the spec)` };
}

export function assertAwsBuildable(spec: SandboxSpec, configRegion?: string): void {
  const issues: SpecIssue[] = [];
  const mismatch = regionMismatch(spec, configRegion);
  if (mismatch) issues.push(mismatch);
  if (spec.backend !== "aws") issues.push({ path: "backend", value: spec.backend, message: "the aws component builds aws sandboxes only", fix: "use backend: aws, or the component of that backend" });
  if (!spec.region) issues.push({ path: "region", value: spec.region, message: "backend 'aws' needs a region", fix: "add region: (e.g. us-east-2)" });
  const view = sizingViewOf(spec);
  if (view) issues.push(...sizingIssues(awsRules, view));
  issues.push(...awsSpecIssues(spec));
  if (issues.length) throw new SpecError(issues, `aws sandbox '${spec.name}'`);
}
