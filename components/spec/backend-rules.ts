// The shape of a backend's spec rules, and the parts every backend shares. A leaf module: each
// backend writes its own table in `components/<backend>/rules.ts` (pure data + functions, no cloud
// SDK import, so validation stays fast and runs before any resource is registered) and its
// descriptor hands it to the list in components/backends.ts.
import { AlertChannel, BACKENDS, Backend, ConfidentialKind, SandboxSpecParsed } from "./schema";
import type { SpecIssue } from "./issues";
import { parseSizeBytes } from "./units";

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
  /** TEE kinds this backend can build (besides "none"). Any other kind is refused by `sizingIssues`. */
  confidential: readonly ConfidentialKind[];
  /**
   * Size / TEE / region problems for this view. Only called with a TEE kind the backend offers
   * (or "none"): refusing the others is shared, in `sizingIssues`.
   */
  validate?(view: SizingView): SpecIssue[];
  /** The `alerts.<channel>` values this backend delivers; any other one in a spec is refused. None if absent. */
  alertChannels?: readonly AlertChannel[];
  /** Optional backend rules over the whole (shape-valid) spec, e.g. which endpoint services it can scope. */
  validateSpec?(spec: SandboxSpecParsed): SpecIssue[];
}

/** Reads a SizingView from a raw (possibly invalid) document, with the schema's defaults. */
export function sizingViewOf(doc: any): SizingView | undefined {
  if (!doc || typeof doc !== "object" || typeof doc.backend !== "string" || !(BACKENDS as readonly string[]).includes(doc.backend)) return undefined;
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

/** The refusal of a TEE kind a backend does not build (written once, for every backend). */
export function unsupportedConfidential(rules: BackendRules, kind: ConfidentialKind): SpecIssue {
  return {
    path: "confidential",
    value: kind,
    message: `backend '${rules.backend}' does not offer '${kind}'`,
    fix: rules.confidential.length ? `use one of: none | ${rules.confidential.join(" | ")}` : "use none (this backend has no TEE; it is reported, never faked)",
  };
}

/**
 * Every size / TEE / region issue of `view` under `rules`: a TEE kind the backend does not offer is
 * refused here, and the backend's own rules then judge the size as if no TEE were asked for (so a
 * size problem is still reported alongside).
 */
export function sizingIssues(rules: BackendRules, view: SizingView): SpecIssue[] {
  if (view.confidential === "none" || rules.confidential.includes(view.confidential)) return rules.validate?.(view) ?? [];
  return [unsupportedConfidential(rules, view.confidential), ...(rules.validate?.({ ...view, confidential: "none" }) ?? [])];
}

/** What validation needs of a private endpoint service a backend can scope: the port it answers on. */
export interface ScopableService {
  port: number;
}

/**
 * Every `egress.allow` entry with `via: endpoint` must name a service the backend can scope (whose
 * grants it knows, so nothing is wildcarded), on the port that endpoint answers on. Shared by every
 * backend with private endpoints; `o` words the refusal for the platform.
 */
export function endpointServiceIssues(
  spec: SandboxSpecParsed,
  services: Readonly<Record<string, ScopableService>>,
  o: { backend: Backend; unscopable: string; endpoint: string; servicesFile: string },
): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const known = Object.keys(services);
  spec.egress.allow.forEach((e, i) => {
    if (e.via !== "endpoint" || !e.service) return;
    const service = Object.prototype.hasOwnProperty.call(services, e.service) ? services[e.service] : undefined;
    if (!service)
      issues.push({ path: `egress.allow[${i}].service`, value: e.service, message: `not a service the ${o.backend} backend can scope (${o.unscopable})`, fix: `use one of: ${known.join(" | ")} (add others to ${o.servicesFile})` });
    else if (e.port !== service.port)
      issues.push({ path: `egress.allow[${i}].port`, value: e.port, message: `the ${e.service} ${o.endpoint} answers on port ${service.port}`, fix: `set port: ${service.port} (listenPort may differ)` });
  });
  return issues;
}

/** A spec's `alerts.<channel>` that its backend does not deliver: refused, not silently dropped. */
export function alertIssues(rules: BackendRules, spec: SandboxSpecParsed): SpecIssue[] {
  const offered = rules.alertChannels ?? [];
  return (Object.keys(spec.alerts) as AlertChannel[])
    .filter((c) => spec.alerts[c] !== undefined && !offered.includes(c))
    .map((c) => ({
      path: `alerts.${c}`,
      value: spec.alerts[c],
      message: `backend '${rules.backend}' does not deliver alerts.${c}${offered.length ? ` (it delivers: ${offered.map((o) => `alerts.${o}`).join(", ")})` : ""}`,
      fix: `remove alerts.${c}: detections are still recorded and the kill switch still acts on them`,
    }));
}
