// The azure component's last gate before anything is registered (shared logic: spec/buildable.ts).
import { assertBuildable } from "../spec/buildable";
import type { SandboxSpec } from "../spec/schema";
import { azureRules, azureSpecIssues } from "./rules";

export function assertAzureBuildable(spec: SandboxSpec): void {
  assertBuildable(azureRules, spec, { regionExample: "westeurope", specIssues: azureSpecIssues });
}
