// TTL on Kubernetes, enforced by the cluster itself: every pod of the sandbox has
// activeDeadlineSeconds (the kubelet kills it at the deadline even if Airlock is gone), and the
// namespace carries the expiry label (airlock.dev/expires-at) that `airlock sweep --kubernetes`
// acts on, deleting the whole namespace.
import { EXPIRES_LABEL, SANDBOX_LABEL, deadlineSeconds, type RenderContext } from "./context";
export { deadlineSeconds };

/** Parses the expiry label value (2026-12-01t12-00-00z) back into a Date. */
export function parseExpiryLabel(value: string | undefined): Date | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})t(\d{2})-(\d{2})-(\d{2})z$/.exec(value ?? "");
  if (!m) return undefined;
  const d = new Date(`${m[1]}T${m[2]}:${m[3]}:${m[4]}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export function ttlSummary(ctx: RenderContext): { deadlineSeconds: number; expiresAt: string; labels: string[] } {
  return { deadlineSeconds: deadlineSeconds(ctx), expiresAt: ctx.identity.expiresAt.toISOString(), labels: [SANDBOX_LABEL, EXPIRES_LABEL] };
}
