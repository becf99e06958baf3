// The record on Kubernetes. Chosen: the guard ships the sandbox's events (pod phases, kill decisions,
// the gate's connection log) to the retention-locked bucket the stack names (record.bucket: an S3
// bucket with Object Lock in compliance mode, a GCS bucket with a locked retention policy, or an Azure
// container with a locked immutability policy), created by the cluster's cloud account — not by this
// stack, and not from inside the namespace. What this guarantees: nothing in the namespace can delete
// or rewrite what was shipped (the lock is the bucket's); what it does not: events the guard never
// shipped (a guard killed before shipping) are missing, never forged. The bucket URL is on the
// namespace as an annotation so that `airlock log` and the sweeper find it.
import type { RenderContext } from "./context";

export const RECORD_ANNOTATION = "airlock.dev/record";
/**
 * The lock the record bucket must hold, `<mode>/<days>d` (e.g. compliance/90d), on the namespace
 * beside the bucket: what the guard is told to require of the bucket and what the invariant facts
 * read. The bucket lives outside this stack, so its lock is declared here, not proven (facts.ts).
 */
export const RECORD_LOCK_ANNOTATION = "airlock.dev/record-lock";

export function recordLock(ctx: RenderContext): string | undefined {
  const l = ctx.spec.logging;
  return ctx.profile.record && l.lockMode !== "none" ? `${l.lockMode}/${l.retentionDays}d` : undefined;
}

export function recordLocation(ctx: RenderContext): string {
  return ctx.profile.record ? `${ctx.profile.record.bucket.replace(/\/$/, "")}/${ctx.identity.id}/` : "(unlocked: no record bucket; unsafe.unlockedLogs)";
}
