// Every object of one Kubernetes sandbox, as a pure function of the spec, its identity and the cluster
// profile: the same list the Pulumi component registers, the tests apply to a real API server, and
// the invariant facts read. Order is apply order (the namespace first, pods last).
import type { SandboxIdentity } from "../naming";
import type { SandboxSpec } from "../spec/schema";
import type { ClusterProfile, FleetOverride } from "./cluster";
import { makeContext, type RenderContext } from "./context";
import type { Manifest } from "./manifest";
import { limitRange, namespace, quota } from "./network";
import { networkPolicies } from "./firewall";
import { guardRbac, serviceAccounts } from "./identity";
import { canaries } from "./canaries";
import { gate } from "./gate";
import { targets } from "./targets";
import { guard } from "./killswitch";
import { workload } from "./workload";
import { RECORD_ANNOTATION, RECORD_LOCK_ANNOTATION, recordLocation, recordLock } from "./record";
import { runtimeClasses } from "./runtime";

export interface RenderedSandbox {
  ctx: RenderContext;
  /** Objects in the sandbox's namespace, the namespace itself first. */
  objects: Manifest[];
}

export function renderSandbox(spec: SandboxSpec, identity: SandboxIdentity, profile: ClusterProfile, member?: { fleetId: string; index: number; override?: FleetOverride }): RenderedSandbox {
  const ctx = makeContext(spec, identity, profile, member);
  const ns = namespace(ctx);
  const lock = recordLock(ctx);
  ns.metadata.annotations = { [RECORD_ANNOTATION]: recordLocation(ctx), ...(lock ? { [RECORD_LOCK_ANNOTATION]: lock } : {}) };
  const objects = [ns, quota(ctx), limitRange(ctx), ...networkPolicies(ctx), ...serviceAccounts(ctx), ...guardRbac(ctx), ...canaries(ctx), ...targets(ctx), ...gate(ctx), ...guard(ctx), workload(ctx)];
  return { ctx, objects };
}

/** The fleet member ids: `<id>-000`, `<id>-001`, ... (a single sandbox keeps its id). */
export function memberIdentity(identity: SandboxIdentity, index: number, count: number): SandboxIdentity {
  return count === 1 ? identity : { ...identity, id: `${identity.id}-${String(index).padStart(3, "0")}` };
}

/** A whole stack: cluster-scoped objects (RuntimeClasses, shared) and every fleet member's objects. */
export function renderFleet(spec: SandboxSpec, identity: SandboxIdentity, profile: ClusterProfile): { cluster: Manifest[]; members: RenderedSandbox[] } {
  const count = profile.fleet.count;
  const members = Array.from({ length: count }, (_, i) =>
    renderSandbox(spec, memberIdentity(identity, i, count), profile, { fleetId: identity.id, index: i, override: profile.fleet.overrides.find((o) => o.index === i) }),
  );
  return { cluster: runtimeClasses(profile, spec.confidential !== "none"), members };
}
