// The last gate before a backend's component registers anything: it refuses a spec the backend cannot
// build even when the spec was not parsed through `parseSpec` (a caller that builds a SandboxSpec by
// hand). The same rules as validation, the same SpecError; shared by every backend's component.
import { SpecError, SpecIssue } from "./spec/issues";
import { BackendRules, sizingIssues, sizingViewOf } from "./spec/backend-rules";
import type { SandboxSpec } from "./spec/schema";

export function assertBuildable(rules: BackendRules, spec: SandboxSpec, extra: SpecIssue[] = [], example = { region: "a region" }): void {
  const issues: SpecIssue[] = [];
  const b = rules.backend;
  if (spec.backend !== b) issues.push({ path: "backend", value: spec.backend, message: `the ${b} component builds ${b} sandboxes only`, fix: `use backend: ${b}, or the component of that backend` });
  if (!spec.region) issues.push({ path: "region", value: spec.region, message: `backend '${b}' needs a region`, fix: `add region: (e.g. ${example.region})` });
  const view = sizingViewOf(spec);
  if (view) issues.push(...sizingIssues(rules, view));
  issues.push(...(rules.validateSpec?.(spec) ?? []), ...extra);
  if (issues.length) throw new SpecError(issues, `${b} sandbox '${spec.name}'`);
}
