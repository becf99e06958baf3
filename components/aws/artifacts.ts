// What the instances install, without internet: a private, per-sandbox bucket read through the S3
// gateway endpoint. Pulumi uploads the files from the operator's artifacts directory
// (`airlock:artifactsDir` in the stack config, default `artifacts/aws/` in this repository); see
// docs/invariants.md ("AWS artifacts") for how to fill it. Canary objects live here too (canaries.ts).
import * as aws from "@pulumi/aws";
import { ArtifactStore, artifactUploads, storeLock } from "../cloud/artifacts";
import { AwsContext, roleTag } from "./context";
import { policyDocument, s3BucketArn } from "./policies";
import { LOCK_MODE } from "./record";
import { CANARY_STORE_PREFIX } from "./trail-coverage";
import { shortHash, type SandboxIdentity } from "../naming";

export type Artifacts = ArtifactStore<aws.s3.Bucket, aws.s3.BucketObjectv2>;

/**
 * The artifacts bucket's name prefix: the account trail's data-event selector covers every bucket
 * starting with CANARY_STORE_PREFIX (trail-coverage.ts), then a hash of the sandbox id, as quiet as
 * ctx.quietName (no "airlock", no sandbox name). 10 + 1 + 10 + 1 characters, under S3's 37.
 */
export function canaryStoreNamePrefix(identity: SandboxIdentity): string {
  return `${CANARY_STORE_PREFIX}s${shortHash(identity.id, 10)}-`;
}

export function buildArtifacts(ctx: AwsContext): Artifacts {
  // Under S3 Object Lock no version of an installed file or a canary can be deleted or overwritten
  // for the retention (cloud/artifacts.ts storeLock); a re-deploy's new upload is a new version.
  const lock = storeLock(ctx.spec.logging);
  const locked = lock !== undefined;
  const bucket = new aws.s3.Bucket(ctx.name("artifacts"), { bucketPrefix: canaryStoreNamePrefix(ctx.identity), objectLockEnabled: locked, forceDestroy: !locked, tags: roleTag("artifacts") }, ctx.opts({ retainOnDelete: locked }));
  const versioning = new aws.s3.BucketVersioning(ctx.name("artifacts-versioning"), { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, ctx.opts());
  if (lock) {
    const defaultRetention = { mode: LOCK_MODE[lock.mode], days: lock.days };
    new aws.s3.BucketObjectLockConfiguration(ctx.name("artifacts-lock"), { bucket: bucket.id, rule: { defaultRetention } }, ctx.opts({ retainOnDelete: true, dependsOn: [versioning] }));
  }
  new aws.s3.BucketPublicAccessBlock(ctx.name("artifacts-pab"), { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true }, ctx.opts());
  new aws.s3.BucketOwnershipControls(ctx.name("artifacts-owner"), { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, ctx.opts());
  new aws.s3.BucketServerSideEncryptionConfiguration(ctx.name("artifacts-sse"), { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] }, ctx.opts());
  const tlsOnly = bucket.bucket.apply((name) =>
    policyDocument([{ Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [s3BucketArn(ctx.partition, name), `${s3BucketArn(ctx.partition, name)}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } }]),
  );
  new aws.s3.BucketPolicy(ctx.name("artifacts-policy"), { bucket: bucket.id, policy: tlsOnly }, ctx.opts());

  const objects = artifactUploads("aws").map(({ part, key, source }) => new aws.s3.BucketObjectv2(ctx.name(`artifact-${part}`), { bucket: bucket.id, key, source }, ctx.opts()));
  return { bucket, objects };
}
