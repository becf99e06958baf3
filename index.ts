// The Pulumi program: stack config `airlock:sandbox` -> SandboxSpec -> the backend's component.
// The spec is validated in full before any resource is registered; a bad field stops the program with
// every problem listed.
import * as pulumi from "@pulumi/pulumi";
import { parseSpec, CONFIG_KEY } from "./components/spec";
import { buildSandbox } from "./components/backends";
import { identityFor, shortHash } from "./components/naming";

const config = new pulumi.Config("airlock");
const spec = parseSpec(config.requireObject("sandbox"), `stack '${pulumi.getStack()}' config ${CONFIG_KEY}`);

// The id is stable per stack (so re-running `pulumi up` updates rather than replaces), and unique across
// stacks and projects. `identity.expiresAt` counts from this deployment and is only a proposal: every
// backend keeps the first expiry in the stack's state — local through its dynamic provider's check(),
// AWS, GCP, Azure and Kubernetes through the shared components/expiry.ts — so a second `up` neither
// extends the sandbox nor relabels its resources; only a changed spec TTL does (recorded as an extension).
const identity = identityFor(spec, { uniqueSuffix: shortHash(`${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`) });

if (spec.waived.length > 0) {
  pulumi.log.warn(`UNSAFE: this sandbox opts out of safety defaults: ${spec.waived.map((f) => `unsafe.${f}`).join(", ")}`);
}

const sandbox = buildSandbox(spec.name, { spec, identity });

export const sandboxId = sandbox.sandboxId;
export const backend = spec.backend;
export const expiresAt = sandbox.expiresAt;
export const recordLocation = sandbox.recordLocation;
export const gateEndpoints = sandbox.gateEndpoints;
export const waivedSafetyDefaults = spec.waived;
