// TTL on Kubernetes, enforced by the cluster itself: every pod of the sandbox has
// activeDeadlineSeconds (the kubelet kills it at the deadline even if Airlock is gone), and the
// namespace carries the expiry label (airlock.dev/expires-at) that `airlock sweep --backend kubernetes`
// acts on, deleting the whole namespace.
//
// The expiry label is the expiry kept in the stack's state (components/expiry.ts), one per stack (a
// fleet shares it): render.ts is a pure function and labels with this run's proposal; the component
// registers every object with the kept one instead (atKeptExpiry), so a second `up` relabels nothing.
// activeDeadlineSeconds is relative to each pod's start (the TTL in seconds): it moves only when the
// spec's TTL does.
import type * as pulumi from "@pulumi/pulumi";
import { EXPIRES_LABEL, SANDBOX_LABEL, deadlineSeconds, type RenderContext } from "./context";
import type { Manifest } from "./manifest";
export { deadlineSeconds };
// The label is read back by the shared parseExpiryLabel (components/naming.ts) in the sweeper.

export function ttlSummary(ctx: RenderContext): { deadlineSeconds: number; expiresAt: string; labels: string[] } {
  return { deadlineSeconds: deadlineSeconds(ctx), expiresAt: ctx.identity.expiresAt.toISOString(), labels: [SANDBOX_LABEL, EXPIRES_LABEL] };
}

/**
 * `m` as registered: its expiry label (where it has one) at the kept expiry, and every ConfigMap value
 * that names this run's proposed expiry (the guard's rules.json, killswitch.ts) naming the kept one.
 */
export function atKeptExpiry(m: Manifest, kept: { iso: pulumi.Output<string>; label: pulumi.Output<string> }, proposed: Date): Manifest {
  let out = m;
  const labels = m.metadata.labels;
  // A resource's inputs take an Output anywhere; the Manifest type says string for the pure renderers.
  if (labels && EXPIRES_LABEL in labels) out = { ...out, metadata: { ...out.metadata, labels: { ...labels, [EXPIRES_LABEL]: kept.label as unknown as string } } };
  const iso = proposed.toISOString();
  if (m.kind === "ConfigMap" && m.data && Object.values(m.data).some((v) => typeof v === "string" && v.includes(iso)))
    out = { ...out, data: Object.fromEntries(Object.entries(m.data as Record<string, string>).map(([k, v]) => [k, v.includes(iso) ? kept.iso.apply((at) => v.split(iso).join(at)) : v])) };
  return out;
}
