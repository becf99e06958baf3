// Experiment problems use the sandbox spec's SpecIssue {path, value, message, fix}, so `airlock chaos
// validate` prints them exactly like `airlock check` prints spec problems (and cli/output.ts's
// reportError handles both). The zod -> SpecIssue mapping is shared with the spec (components/spec/zod-issues.ts).
import { SpecError, SpecIssue, formatIssue } from "../../components/spec/issues";
export { nearest, zodIssues, knownKeysIn } from "../../components/spec/zod-issues";

export class ExperimentError extends SpecError {
  constructor(issues: SpecIssue[], source: string) {
    super(issues, source);
    this.message = `${source}: ${issues.length} problem${issues.length === 1 ? "" : "s"} in the chaos experiment (nothing was applied):\n` + issues.map((i) => "  - " + formatIssue(i)).join("\n");
    this.name = "ExperimentError";
  }
}

