// What the gate installs, without internet: a private, per-sandbox bucket read through Private Google
// Access by the gate's service account only. Pulumi uploads the files from the operator's artifacts
// directory (`airlock:artifactsDir`, default `artifacts/gcp/`). Canary objects live here too.
import * as gcp from "@pulumi/gcp";
import { ArtifactStore, artifactUploads, storeLock } from "../cloud/artifacts";
import { GcpContext, roleLabel } from "./context";

export type Artifacts = ArtifactStore<gcp.storage.Bucket, gcp.storage.BucketObject>;

export function buildArtifacts(ctx: GcpContext): Artifacts {
  // A retention policy (locked in compliance mode) keeps every installed file and canary from deletion
  // or overwrite (cloud/artifacts.ts storeLock). GCS refuses to replace a retained object, so a
  // re-deploy that changes an artifact fails until the retention has passed.
  const lock = storeLock(ctx.spec.logging);
  const locked = lock !== undefined;
  const retentionPolicy = lock && { retentionPeriod: String(lock.days * 86_400), isLocked: lock.mode === "compliance" };
  const bucket = new gcp.storage.Bucket(
    ctx.name("artifacts"),
    { name: ctx.quietName("files", 63), location: ctx.region.toUpperCase(), uniformBucketLevelAccess: true, publicAccessPrevention: "enforced", retentionPolicy, forceDestroy: !locked, labels: roleLabel("artifacts") },
    ctx.opts({ retainOnDelete: locked }),
  );
  const objects = artifactUploads("gcp").map(({ part, key, source }) => new gcp.storage.BucketObject(ctx.name(`artifact-${part}`), { bucket: bucket.name, name: key, source }, ctx.opts()));
  return { bucket, objects };
}
