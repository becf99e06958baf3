// The record: an S3 bucket outside the boundary with Object Lock (compliance by default), versioning,
// public access blocked, TLS only, and a bucket policy that refuses every object write or delete that
// does not come through this sandbox's S3 endpoint — except VPC flow logs, allowed for this account's
// log deliveries. CloudTrail does not write here: the account's one trail (account-trail.ts) logs every
// sandbox and writes to its own locked bucket, so this record holds nothing of other sandboxes.
//
// Reads are left to IAM on purpose: the record must stay readable after the sandbox (and with it the
// endpoint) is gone. The workload cannot read it: its role and the endpoint allow PutObject only.
// Everything here is retained on `pulumi destroy` — the record outlives the sandbox.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { AwsContext, roleTag } from "./context";
import { policyDocument, s3BucketArn, s3ObjectArn, Statement } from "./policies";

export interface RecordStore {
  bucket: aws.s3.Bucket;
}

export const LOCK_MODE = { compliance: "COMPLIANCE", governance: "GOVERNANCE" } as const;
export const FLOW_LOG_PREFIX = "flow-logs/";
/** Where instances append (each role under its own sub-prefix). */
export const INSTANCE_LOG_PREFIX = "instances/";

/** Object actions that change or remove data; denied unless they come through the sandbox's endpoint. */
const OBJECT_WRITES = [
  "s3:PutObject",
  "s3:PutObjectAcl",
  "s3:PutObjectVersionAcl",
  "s3:PutObjectTagging",
  "s3:PutObjectVersionTagging",
  "s3:DeleteObject",
  "s3:DeleteObjectVersion",
  "s3:DeleteObjectTagging",
  "s3:DeleteObjectVersionTagging",
  "s3:PutObjectRetention",
  "s3:PutObjectLegalHold",
  "s3:BypassGovernanceRetention",
  "s3:RestoreObject",
];

export function createRecordStore(ctx: AwsContext): RecordStore {
  const { logging } = ctx.spec;
  const keep = ctx.opts({ retainOnDelete: true });
  const locked = logging.lockMode !== "none";
  const bucket = new aws.s3.Bucket(ctx.name("record"), { bucketPrefix: ctx.quietName("logs"), objectLockEnabled: locked, forceDestroy: false, tags: roleTag("record") }, keep);
  new aws.s3.BucketPublicAccessBlock(ctx.name("record-pab"), { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true }, keep);
  new aws.s3.BucketOwnershipControls(ctx.name("record-owner"), { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, keep);
  new aws.s3.BucketServerSideEncryptionConfiguration(ctx.name("record-sse"), { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] }, keep);
  const versioning = new aws.s3.BucketVersioning(ctx.name("record-versioning"), { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, keep);
  if (locked) {
    new aws.s3.BucketObjectLockConfiguration(
      ctx.name("record-lock"),
      { bucket: bucket.id, rule: { defaultRetention: { mode: LOCK_MODE[logging.lockMode as "compliance" | "governance"], days: logging.retentionDays } } },
      { ...keep, dependsOn: [versioning] },
    );
  }
  return { bucket };
}

/** The bucket policy and the VPC flow logs; needs the S3 endpoint. */
export function sealRecordStore(ctx: AwsContext, store: RecordStore, args: { vpc: aws.ec2.Vpc; s3EndpointId: pulumi.Input<string> }): aws.s3.BucketPolicy {
  const p = ctx.partition;
  const policy = pulumi.all([store.bucket.bucket, args.s3EndpointId, ctx.accountId]).apply(([name, vpce, account]) => {
    const bucketArn = s3BucketArn(p, name);
    const logsSource = `arn:${p}:logs:${ctx.region}:${account}:*`;
    const statements: Statement[] = [
      { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [bucketArn, `${bucketArn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } },
      {
        Sid: "DenyWritesOutsideSandbox",
        Effect: "Deny",
        Principal: "*",
        Action: OBJECT_WRITES,
        Resource: [`${bucketArn}/*`],
        // The flow-log service writes from outside any VPC; it is allowed below, for this account only.
        Condition: { StringNotEquals: { "aws:SourceVpce": vpce }, BoolIfExists: { "aws:PrincipalIsAWSService": "false" } },
      },
      { Sid: "FlowLogsAclCheck", Effect: "Allow", Principal: { Service: "delivery.logs.amazonaws.com" }, Action: ["s3:GetBucketAcl", "s3:ListBucket"], Resource: [bucketArn], Condition: { StringEquals: { "aws:SourceAccount": account }, ArnLike: { "aws:SourceArn": logsSource } } },
      {
        Sid: "FlowLogsWrite",
        Effect: "Allow",
        Principal: { Service: "delivery.logs.amazonaws.com" },
        Action: ["s3:PutObject"],
        Resource: [s3ObjectArn(p, name, `${FLOW_LOG_PREFIX}AWSLogs/${account}/*`)],
        Condition: { StringEquals: { "aws:SourceAccount": account, "s3:x-amz-acl": "bucket-owner-full-control" }, ArnLike: { "aws:SourceArn": logsSource } },
      },
    ];
    return policyDocument(statements);
  });
  const bucketPolicy = new aws.s3.BucketPolicy(ctx.name("record-policy"), { bucket: store.bucket.id, policy }, ctx.opts({ retainOnDelete: true }));

  new aws.ec2.FlowLog(
    ctx.name("flow-log"),
    { vpcId: args.vpc.id, trafficType: "ALL", logDestinationType: "s3", logDestination: pulumi.interpolate`${store.bucket.arn}/${FLOW_LOG_PREFIX}`, maxAggregationInterval: 60 },
    ctx.opts({ dependsOn: [bucketPolicy] }),
  );
  return bucketPolicy;
}
