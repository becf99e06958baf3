// Per-backend validation: which TEE kinds a backend offers, which sizes/regions they need. Each
// backend owns its table in `components/<backend>/rules.ts` (pure data + functions, no cloud SDK
// import, so that validation stays fast and runs before any resource is registered).
import type { Backend, ConfidentialKind, SandboxSpecParsed } from "./schema";
import type { SpecIssue } from "./issues";
import { parseSizeBytes } from "./units";
import { awsRules } from "../aws/rules";
import { gcpRules } from "../gcp/rules";
import { azureRules } from "../azure/rules";
import { kubernetesRules } from "../kubernetes/rules";
import { localRules } from "../local/rules";

/** The fields backend rules look at, read tolerantly so they also run when other fields are broken. */
export interface SizingView {
  backend: Backend;
  region?: string;
  confidential: ConfidentialKind;
  cpus: number;
  memoryBytes: number;
  machineType?: string;
}

export interface BackendRules {
  backend: Backend;
  /** TEE kinds this backend can build (besides "none"). */
  confidential: readonly ConfidentialKind[];
  /** Size / TEE / region problems for this view. */
  validate(view: SizingView): SpecIssue[];
  /** Optional backend rules over the whole (shape-valid) spec, e.g. which endpoint services it can scope. */
  validateSpec?(spec: SandboxSpecParsed): SpecIssue[];
}

const RULES: Record<Backend, BackendRules> = {
  aws: awsRules,
  gcp: gcpRules,
  azure: azureRules,
  kubernetes: kubernetesRules,
  local: localRules,
};

export function rulesFor(backend: string): BackendRules | undefined {
  // Own keys only: a document's `backend: constructor` (or __proto__) must not find Object's members.
  return Object.prototype.hasOwnProperty.call(RULES, backend) ? (RULES as Record<string, BackendRules>)[backend] : undefined;
}

/** Reads a SizingView from a raw (possibly invalid) document, with the schema's defaults. */
export function sizingViewOf(doc: any): SizingView | undefined {
  if (!doc || typeof doc !== "object" || !rulesFor(doc.backend)) return undefined;
  const w = doc.workload && typeof doc.workload === "object" ? doc.workload : {};
  const cpus = typeof w.cpus === "number" && w.cpus > 0 ? w.cpus : 2;
  const memoryBytes = parseSizeBytes(w.memory ?? "4GiB") ?? parseSizeBytes("4GiB")!;
  return {
    backend: doc.backend,
    region: typeof doc.region === "string" ? doc.region : undefined,
    confidential: typeof doc.confidential === "string" ? doc.confidential : "none",
    cpus,
    memoryBytes,
    machineType: typeof w.machineType === "string" ? w.machineType : undefined,
  };
}

/** Shared refusal for a TEE kind a backend does not build. */
export function unsupportedConfidential(rules: BackendRules, kind: ConfidentialKind): SpecIssue {
  return {
    path: "confidential",
    value: kind,
    message: `backend '${rules.backend}' does not offer '${kind}'`,
    fix: rules.confidential.length ? `use one of: none | ${rules.confidential.join(" | ")}` : "use none (this backend has no TEE; it is reported, never faked)",
  };
}
