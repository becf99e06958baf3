// The files every VM backend installs without internet, and where the operator keeps them. One list
// for AWS, GCP and Azure: the gate's Toxiproxy binary and the in-guest guard (bin/build-guest-guard
// writes both guard files). Each cloud uploads them into its own private store (aws/artifacts.ts,
// gcp/artifacts.ts, azure/artifacts.ts); only the store differs, so only the store lives there.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { GUARD_ARTIFACTS } from "../guest/install";

/** Files the instances need, by key (object / blob name) in the store and file name in the artifacts directory. */
export const ARTIFACT_FILES = {
  toxiproxy: { key: "bin/toxiproxy-server", file: "toxiproxy-server" },
  // The workload installs the guard at first boot.
  guardNode: { key: GUARD_ARTIFACTS.node.key, file: GUARD_ARTIFACTS.node.file },
  guardBundle: { key: GUARD_ARTIFACTS.bundle.key, file: GUARD_ARTIFACTS.bundle.file },
} as const;

/** One file to upload: `part` names the Pulumi resource, `key` the object, `source` the operator's file. */
export interface ArtifactUpload {
  part: string;
  key: string;
  source: pulumi.asset.FileAsset;
}

/** The operator's artifacts directory: `airlock:artifactsDir` in the stack config, else `artifacts/<cloud>/` in this repository. */
export function artifactsDir(cloud: "aws" | "gcp" | "azure"): string {
  return new pulumi.Config("airlock").get("artifactsDir") ?? path.join(__dirname, "..", "..", "artifacts", cloud);
}

/** Every artifact with its source file, read from the directory once per build. */
export function artifactUploads(cloud: "aws" | "gcp" | "azure"): ArtifactUpload[] {
  const dir = artifactsDir(cloud);
  return Object.entries(ARTIFACT_FILES).map(([part, a]) => ({ part, key: a.key, source: new pulumi.asset.FileAsset(path.join(dir, a.file)) }));
}

/** A cloud's artifacts store: the bucket (or container) and the uploaded objects. */
export interface ArtifactStore<Bucket, Obj> {
  bucket: Bucket;
  objects: Obj[];
}

/**
 * The lock every VM cloud puts on its artifacts and canary store, as on the record (Azure: WORM
 * containers, azure/record.ts; AWS: Object Lock; GCP: a retention policy): the spec's retention days
 * in its lock mode, or none with lockMode none (the explicit opt-out). A locked store outlives `destroy`.
 */
export function storeLock(logging: { lockMode: "compliance" | "governance" | "none"; retentionDays: number }): { mode: "compliance" | "governance"; days: number } | undefined {
  return logging.lockMode === "none" ? undefined : { mode: logging.lockMode, days: logging.retentionDays };
}
