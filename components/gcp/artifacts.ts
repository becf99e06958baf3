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
  const bucket = new gcp.storage.Bucket(
    ctx.name("artifacts"),
    { name: ctx.quietName("files", 63), location: ctx.region.toUpperCase(), uniformBucketLevelAccess: true, publicAccessPrevention: "enforced", forceDestroy: true, labels: roleLabel("artifacts") },
    ctx.opts(),
  );
  const objects = artifactUploads("gcp").map(({ part, key, source }) => new gcp.storage.BucketObject(ctx.name(`artifact-${part}`), { bucket: bucket.name, name: key, source }, ctx.opts()));
  return { bucket, objects };
}
