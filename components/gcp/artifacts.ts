// What the gate installs, without internet: a private, per-sandbox bucket read through Private Google
// Access by the gate's service account only. Pulumi uploads the files from the operator's artifacts
// directory (`airlock:artifactsDir`, default `artifacts/gcp/`). Canary objects live here too.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { GUARD_ARTIFACTS } from "../guest/install";
import * as gcp from "@pulumi/gcp";
import { GcpContext, roleLabel } from "./context";

export const ARTIFACT_FILES = {
  toxiproxy: { key: "bin/toxiproxy-server", file: "toxiproxy-server" },
  // The in-guest guard (bin/build-guest-guard writes both files): the workload installs it at first boot.
  guardNode: { key: GUARD_ARTIFACTS.node.key, file: GUARD_ARTIFACTS.node.file },
  guardBundle: { key: GUARD_ARTIFACTS.bundle.key, file: GUARD_ARTIFACTS.bundle.file },
} as const;

export interface Artifacts {
  bucket: gcp.storage.Bucket;
  objects: gcp.storage.BucketObject[];
}

export function artifactsDir(): string {
  return new pulumi.Config("airlock").get("artifactsDir") ?? path.join(__dirname, "..", "..", "artifacts", "gcp");
}

export function buildArtifacts(ctx: GcpContext): Artifacts {
  const bucket = new gcp.storage.Bucket(
    ctx.name("artifacts"),
    { name: ctx.quietName("files", 63), location: ctx.region.toUpperCase(), uniformBucketLevelAccess: true, publicAccessPrevention: "enforced", forceDestroy: true, labels: roleLabel("artifacts") },
    ctx.opts(),
  );
  const objects = Object.entries(ARTIFACT_FILES).map(
    ([part, a]) => new gcp.storage.BucketObject(ctx.name(`artifact-${part}`), { bucket: bucket.name, name: a.key, source: new pulumi.asset.FileAsset(path.join(artifactsDir(), a.file)) }, ctx.opts()),
  );
  return { bucket, objects };
}
