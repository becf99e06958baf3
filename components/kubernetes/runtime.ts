// Which runtime the sandbox's pods get, and the RuntimeClass objects when the cluster lacks them.
// Hypervisor-level isolation (gVisor's user-space kernel, Kata's / Firecracker's micro-VM) is the
// answer to shared-kernel breakouts; `runc` is refused unless the spec sets unsafe.sharedKernel
// (checked in cluster.ts). A confidential spec gets the stack's confidential RuntimeClass (e.g.
// kata-cc) and/or its confidential node pool (nodeSelector + tolerations).
import { ISOLATING_RUNTIMES, type ClusterProfile } from "./cluster";
import type { Manifest } from "./manifest";
import type { RenderContext } from "./context";

/** The RuntimeClass name the sandbox's pods run under. */
export function runtimeClassOf(ctx: RenderContext): string {
  if (ctx.spec.confidential !== "none" && ctx.profile.confidential?.runtimeClass) return ctx.profile.confidential.runtimeClass;
  return ctx.profile.runtimeClass;
}

/** Node placement for a confidential workload (empty otherwise). */
export function placementOf(ctx: RenderContext): { nodeSelector?: Record<string, string>; tolerations?: object[] } {
  if (ctx.spec.confidential === "none" || !ctx.profile.confidential) return {};
  const c = ctx.profile.confidential;
  return {
    ...(Object.keys(c.nodeSelector).length ? { nodeSelector: { ...c.nodeSelector } } : {}),
    ...(c.tolerations.length ? { tolerations: c.tolerations.map((t) => ({ ...t })) } : {}),
  };
}

/**
 * Cluster-scoped RuntimeClass objects, when the stack says the cluster lacks them. Shared by every
 * sandbox on the cluster (same name, same handler), so they carry no sandbox label and destroying a
 * sandbox leaves them.
 */
export function runtimeClasses(profile: ClusterProfile, confidential: boolean): Manifest[] {
  if (!profile.createRuntimeClasses) return [];
  const names = new Set<string>([profile.runtimeClass]);
  if (confidential && profile.confidential?.runtimeClass) names.add(profile.confidential.runtimeClass);
  names.delete("runc"); // runc is every node's default runtime: no RuntimeClass to create
  return [...names].map((name) => ({
    apiVersion: "node.k8s.io/v1",
    kind: "RuntimeClass",
    metadata: { name, labels: { "app.kubernetes.io/managed-by": "airlock" } },
    handler: profile.runtimeHandlers[name] ?? (ISOLATING_RUNTIMES as Record<string, string>)[name] ?? name,
  }));
}
