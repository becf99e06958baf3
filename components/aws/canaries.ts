// Canaries: what is planted for the workload to find.
//
// Placed: one bait file per `canaries.files` entry in the workload user's home (written by the
// bootstrap), the same content as an S3 object under `canaries/` in the artifacts bucket, and — with
// `canaries.credential` — an IAM user with no permissions whose access key is filed in
// ~/.aws/credentials under a non-default profile. How their use is detected and acted on:
// killswitch.ts.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { AwsContext } from "./context";
import { baitContent, CANARY_PREFIX, CanaryCredential } from "../cloud/bait";
import { shortHash } from "../naming";
import { plantCanaries } from "../cloud/canary-files";


/** What the guard plants before the workload exists (its files go into the workload's bootstrap). */
export interface CanaryPlan {
  /** Path relative to home -> content (with the canary key when there is one). */
  homeFiles: pulumi.Output<Record<string, string>>;
  accessKey?: aws.iam.AccessKey;
  objects: aws.s3.BucketObjectv2[];
}

export function placeCanaries(ctx: AwsContext, artifactsBucket: aws.s3.Bucket): CanaryPlan {
  let accessKey: aws.iam.AccessKey | undefined;
  const planted = plantCanaries<CanaryCredential, aws.s3.BucketObjectv2>(ctx.spec.canaries, {
    credentialPath: ".aws/credentials",
    mintCredential: () => {
      // An IAM user with no policies at all: any use of its key fails, and is seen.
      // A plausible name: whoever uses the key sees it in the AccessDenied message.
      const user = new aws.iam.User(ctx.name("ops-admin", 64), { name: `ops-admin-${shortHash(ctx.identity.id, 6)}`, path: "/", forceDestroy: true }, ctx.opts());
      const key = (accessKey = new aws.iam.AccessKey(ctx.name("ops-admin-key"), { user: user.name }, ctx.opts()));
      return pulumi.all([key.id, key.secret]).apply(([accessKeyId, secretAccessKey]) => ({ accessKeyId, secretAccessKey }));
    },
    content: (p, credential) => baitContent(ctx.identity.id, p, { credential, region: ctx.region }),
    storeCopy: (p, i, content) => new aws.s3.BucketObjectv2(ctx.name(`canary-${i}`), { bucket: artifactsBucket.id, key: `${CANARY_PREFIX}${p}`, content }, ctx.opts()),
  });
  if (!ctx.spec.canaries.enabled) return planted;
  return { ...planted, accessKey };
}
