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

/** `m` with its expiry label (where it has one) set to `label`: the kept expiry, in the label's spelling. */
export function atKeptExpiry(m: Manifest, label: pulumi.Output<string>): Manifest {
  const labels = m.metadata.labels;
  if (!labels || !(EXPIRES_LABEL in labels)) return m;
  // A resource's inputs take an Output anywhere; the Manifest type says string for the pure renderers.
  return { ...m, metadata: { ...m.metadata, labels: { ...labels, [EXPIRES_LABEL]: label as unknown as string } } };
}
