// What every renderer of one Kubernetes sandbox reads: the spec, the sandbox's identity and
// namespace, the cluster profile, its labels, the fixed service addresses, and the pod hardening that
// every pod of the sandbox shares (Pod Security "restricted" and more).
import { LABEL_KEYS, NAME_PREFIX, sandboxLabels, shortHash, type SandboxIdentity } from "../naming";
import { intToIpv4, ipv4ToInt, parseCidr } from "../spec/net";
import type { SandboxSpec } from "../spec/schema";
import type { ClusterProfile, FleetOverride } from "./cluster";

export const ROLE_LABEL = "airlock.dev/role";
export const TARGET_LABEL = "airlock.dev/target";
export type PodRole = "workload" | "gate" | "target" | "guard";

/** Toxiproxy's admin API port on the gate. */
export const GATE_ADMIN_PORT = 8474;
/** The workload's user and group ids (non-root; the spec's user name is only a name inside the image). */
export const WORKLOAD_UID = 1000;
/** Airlock's own pods (gate, guard, targets) run as this unprivileged id. */
export const SYSTEM_UID = 65532;

export interface RenderContext {
  spec: SandboxSpec;
  identity: SandboxIdentity;
  profile: ClusterProfile;
  /** The sandbox's namespace (its boundary). */
  ns: string;
  /** Airlock's labels (sandbox, expiry, owner) plus the spec's tags. */
  labels: Record<string, string>;
  /** This fleet member's override, if any. */
  override?: FleetOverride;
  /** Fixed ClusterIPs: the gate's and each target's Service. */
  addresses: { gate: string; targets: Record<string, string> };
}

/** The namespace of a sandbox: `airlock-<id>` (a DNS label, at most 63 characters). */
export function namespaceOf(identity: SandboxIdentity): string {
  return `${NAME_PREFIX}-${identity.id}`.slice(0, 63).replace(/-+$/, "");
}

/**
 * A fixed ClusterIP per Service, chosen from the stack's service range: the workload then reaches the
 * gate by address (hostAliases) and needs no DNS at all — cluster DNS forwards unknown names upstream,
 * which would be an exfiltration channel. Members of one fleet get consecutive slots, so they never
 * collide with each other; a collision with another object is refused by the API server ("provided
 * IP is already allocated") before anything of the sandbox runs.
 */
export function fixedServiceIp(serviceCidr: string, fleetId: string, slot: number): string {
  const c = parseCidr(serviceCidr)!;
  const size = 2 ** (32 - c.prefix);
  const usable = size - 16; // skip .0-.9 (the kubernetes Service, DNS) and the top addresses
  const base = parseInt(shortHash(fleetId, 8), 16) % usable;
  const offset = 10 + ((base + slot) % usable);
  return intToIpv4(((ipv4ToInt(c.address)! & ((0xffffffff << (32 - c.prefix)) >>> 0)) >>> 0) + offset);
}

export function makeContext(spec: SandboxSpec, identity: SandboxIdentity, profile: ClusterProfile, member: { fleetId: string; index: number; override?: FleetOverride } = { fleetId: identity.id, index: 0 }): RenderContext {
  const slots = 1 + spec.targets.length;
  const at = (k: number) => fixedServiceIp(profile.serviceCidr, member.fleetId, member.index * slots + k);
  return {
    spec,
    identity,
    profile,
    ns: namespaceOf(identity),
    labels: sandboxLabels(identity, "kubernetes", spec.tags),
    override: member.override,
    addresses: { gate: at(0), targets: Object.fromEntries(spec.targets.map((t, i) => [t.name, at(1 + i)])) },
  };
}

/** Metadata for an object in the sandbox's namespace. */
export function meta(ctx: RenderContext, name: string, extra: Record<string, string> = {}) {
  return { name, namespace: ctx.ns, labels: { ...ctx.labels, ...extra } };
}

export function roleLabels(role: PodRole, extra: Record<string, string> = {}): Record<string, string> {
  return { [ROLE_LABEL]: role, ...extra };
}

/** The sandbox label key, for selectors (sweeper, invariants). */
export const SANDBOX_LABEL = LABEL_KEYS.kubernetes.sandbox;
export const EXPIRES_LABEL = LABEL_KEYS.kubernetes.expiresAt;

/** Seconds until the sandbox's deadline (at least 60: a pod deadline must be positive). */
export function deadlineSeconds(ctx: RenderContext): number {
  return Math.max(60, Math.ceil(ctx.spec.ttlMs / 1000));
}

/** requests = limits (Guaranteed QoS: no overcommit one sandbox can use against another). */
export function fixedResources(cpu: string, memory: string, ephemeral?: string) {
  const r: Record<string, string> = { cpu, memory, ...(ephemeral ? { "ephemeral-storage": ephemeral } : {}) };
  return { requests: { ...r }, limits: { ...r } };
}

/** The container hardening of every container in the sandbox (Pod Security "restricted" and stricter). */
export function containerSecurity(uid: number) {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** The pod-level fields every pod of the sandbox shares. */
export function podBase(ctx: RenderContext, uid: number) {
  return {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    hostNetwork: false,
    hostPID: false,
    hostIPC: false,
    restartPolicy: "Never",
    activeDeadlineSeconds: deadlineSeconds(ctx),
    securityContext: { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: "RuntimeDefault" } },
  };
}

/** A Kubernetes quantity in whole MiB. */
export function mib(bytes: number): string {
  return `${Math.max(1, Math.ceil(bytes / 2 ** 20))}Mi`;
}
