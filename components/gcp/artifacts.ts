// What the gate installs, without internet: a private, per-sandbox bucket read through Private Google
// Access by the gate's service account only. Pulumi uploads the files from the operator's artifacts
// directory (`airlock:artifactsDir`, default `artifacts/gcp/`). Canary objects live here too.
import * as gcp from "@pulumi/gcp";
import { artifactUploads } from "../cloud/artifacts";
import { GcpContext, roleLabel } from "./context";

export interface Artifacts {
  bucket: gcp.storage.Bucket;
  objects: gcp.storage.BucketObject[];
}

export function buildArtifacts(ctx: GcpContext): Artifacts {
  // Locked like the record (Azure's artifacts and canaries containers are WORM, azure/record.ts): a
  // retention policy of the spec's days (locked in compliance mode) keeps every installed file and
  // canary from deletion or overwrite. GCS refuses to replace a retained object, so a re-deploy that
  // changes an artifact fails until the retention has passed; a locked bucket outlives `destroy`.
  const { logging } = ctx.spec;
  const locked = logging.lockMode !== "none";
  const retentionPolicy = locked ? { retentionPeriod: String(logging.retentionDays * 86_400), isLocked: logging.lockMode === "compliance" } : undefined;
  const bucket = new gcp.storage.Bucket(
    ctx.name("artifacts"),
    { name: ctx.quietName("files", 63), location: ctx.region.toUpperCase(), uniformBucketLevelAccess: true, publicAccessPrevention: "enforced", retentionPolicy, forceDestroy: !locked, labels: roleLabel("artifacts") },
    ctx.opts({ retainOnDelete: locked }),
  );
  const objects = artifactUploads("gcp").map(({ part, key, source }) => new gcp.storage.BucketObject(ctx.name(`artifact-${part}`), { bucket: bucket.name, name: key, source }, ctx.opts()));
  return { bucket, objects };
}
