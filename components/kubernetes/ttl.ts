// TTL on Kubernetes, enforced by the cluster itself: every pod of the sandbox has
// activeDeadlineSeconds (the kubelet kills it at the deadline even if Airlock is gone), and the
// namespace carries the expiry label (airlock.dev/expires-at) that `airlock sweep --backend kubernetes`
// acts on, deleting the whole namespace.
import { EXPIRES_LABEL, SANDBOX_LABEL, deadlineSeconds, type RenderContext } from "./context";
export { deadlineSeconds };
// The label is read back by the shared parseExpiryLabel (components/naming.ts) in the sweeper.

export function ttlSummary(ctx: RenderContext): { deadlineSeconds: number; expiresAt: string; labels: string[] } {
  return { deadlineSeconds: deadlineSeconds(ctx), expiresAt: ctx.identity.expiresAt.toISOString(), labels: [SANDBOX_LABEL, EXPIRES_LABEL] };
}
