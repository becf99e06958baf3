// The Automation API for other TypeScript tools (docs/automation.md): `import { withSandbox } from "airlock"`.
export { createSandbox, destroySandbox, withSandbox, runMany, liveSandboxes } from "./sandbox";
export type { Sandbox, SandboxOptions, SandboxOutputs, ExecResult, EngineChoice, ProgressEvent, RunManySummary } from "./sandbox";
export { findPulumi, requirePulumi, engineEnv, PulumiNotFoundError } from "./engine";
export { STACK_TAGS } from "./stack-tags";
export type { PulumiEngine } from "./engine";
