// The last gate of a backend's component before anything is registered: refuse a spec the backend
// cannot build even when it was not parsed through `parseSpec` (a caller that builds a SandboxSpec
// by hand). Same rules as validation, same SpecError. Shared by every cloud component.
import { SpecError, SpecIssue } from "./issues";
import { BackendRules, sizingIssues, sizingViewOf } from "./backend-rules";
import type { SandboxSpec, SandboxSpecParsed } from "./schema";

export function assertBuildable(rules: BackendRules, spec: SandboxSpec, opts: { regionExample: string; specIssues?: (s: SandboxSpecParsed) => SpecIssue[] }): void {
  const b = rules.backend;
  const issues: SpecIssue[] = [];
  if (spec.backend !== b) issues.push({ path: "backend", value: spec.backend, message: `the ${b} component builds ${b} sandboxes only`, fix: `use backend: ${b}, or the component of that backend` });
  if (!spec.region) issues.push({ path: "region", value: spec.region, message: `backend '${b}' needs a region`, fix: `add region: (e.g. ${opts.regionExample})` });
  const view = sizingViewOf(spec);
  if (view) issues.push(...sizingIssues(rules, view));
  issues.push(...(opts.specIssues?.(spec) ?? []));
  if (issues.length) throw new SpecError(issues, `${b} sandbox '${spec.name}'`);
}
