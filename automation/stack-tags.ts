// Tags on the Pulumi stack of every sandbox the Automation API creates, so an organisation can find
// its sandboxes' stacks in any backend (`pulumi stack ls --tag airlock:owner=…`, the service's
// search, or `airlock sweep`) — the same keys as the tags on the sandbox's own resources
// (components/naming.ts LABEL_KEYS "tags" style), plus the backend and the harness that made it.
//
// Set in two steps: before `up` (owner, backend, harness, and the expiry this run proposes), so a
// stack whose create is interrupted is already findable; after `up` the sandbox id and the expiry
// the sandbox really has. Pulumi's tag names allow letters, digits and `-_.:` (at most 40 chars);
// values up to 256 chars.
import * as path from "path";
import type { Stack } from "@pulumi/pulumi/automation";
import { LABEL_KEYS } from "../components/naming";
import type { SandboxSpec } from "../components/spec";

export const STACK_TAGS = {
  sandbox: LABEL_KEYS.tags.sandbox,
  expiresAt: LABEL_KEYS.tags.expiresAt,
  owner: LABEL_KEYS.tags.owner,
  backend: "airlock:backend",
  harness: "airlock:harness",
} as const;

/** The harness's name when the caller gives none: the script that runs (e.g. `harness.ts`). */
export function defaultHarnessName(argv: string[] = process.argv): string {
  const script = argv[1] ? path.basename(argv[1]) : "node";
  return script.replace(/[^A-Za-z0-9._@+:/-]/g, "-").slice(0, 256) || "node";
}

/** Tags known before the sandbox exists. */
export function tagsBeforeCreate(spec: SandboxSpec, harness: string, now = new Date()): Record<string, string> {
  return {
    [STACK_TAGS.owner]: spec.owner,
    [STACK_TAGS.backend]: spec.backend,
    [STACK_TAGS.harness]: harness.slice(0, 256),
    [STACK_TAGS.expiresAt]: new Date(now.getTime() + spec.ttlMs).toISOString(),
  };
}

/** Tags the created sandbox fixes (its id, its real expiry). */
export function tagsAfterCreate(outputs: { sandboxId: string; expiresAt: string }): Record<string, string> {
  return { [STACK_TAGS.sandbox]: outputs.sandboxId, [STACK_TAGS.expiresAt]: outputs.expiresAt };
}

export async function setStackTags(stack: Stack, tags: Record<string, string>): Promise<void> {
  // One `pulumi stack tag set` per tag: the CLI has no batch form. Sequential (the backend's stack file is rewritten each time).
  for (const [k, v] of Object.entries(tags)) await stack.workspace.setTag(stack.name, k, v);
}
