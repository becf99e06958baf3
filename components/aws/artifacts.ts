// What the instances install, without internet: a private, per-sandbox bucket read through the S3
// gateway endpoint. Pulumi uploads the files from the operator's artifacts directory
// (`airlock:artifactsDir` in the stack config, default `artifacts/aws/` in this repository); see
// docs/invariants.md ("AWS artifacts") for how to fill it. Canary objects live here too (canaries.ts).
import * as aws from "@pulumi/aws";
import { artifactUploads } from "../cloud/artifacts";
import { AwsContext, roleTag } from "./context";
import { policyDocument, s3BucketArn } from "./policies";

export interface Artifacts {
  bucket: aws.s3.Bucket;
  objects: aws.s3.BucketObjectv2[];
}

export function buildArtifacts(ctx: AwsContext): Artifacts {
  const bucket = new aws.s3.Bucket(ctx.name("artifacts"), { bucketPrefix: ctx.quietName("files"), forceDestroy: true, tags: roleTag("artifacts") }, ctx.opts());
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
