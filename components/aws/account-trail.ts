// The account trail: the one Airlock-owned CloudTrail trail every AWS sandbox of an account relies on
// (issue #8, AWS defect 5). Deployed once per account by its own Pulumi program (accounts/aws/), never by
// a sandbox's `pulumi up`: CloudTrail allows 5 trails per region (not raisable), so a trail per sandbox
// stopped the fifth concurrent sandbox. A multi-region trail takes one of those 5 slots in every region
// — the least any design can take — and delivers IAM/STS calls (a canary key's first use) in us-east-1.
//
// What it logs: every management event (canary-key use, any region) and S3 object data events on every
// bucket whose name starts with CANARY_STORE_PREFIX — every sandbox's artifacts bucket, where its
// canary objects live — so no sandbox has to edit it. Each sandbox's EventBridge rules match only its
// own bucket and key (killswitch.ts); the trail's own log files go to an Object Lock bucket here.
//
// Kept on `pulumi destroy`: the trail is protected (sandboxes' kill switches depend on it) and the
// bucket is locked and retained. Neither carries the `airlock:sandbox` tag, so `airlock sweep` — which
// finds its resources by that tag only — never lists them.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { ROLE_TAG } from "./taggable";
import { LOCK_MODE } from "./record";
import { policyDocument, s3BucketArn, s3ObjectArn } from "./policies";
import { partitionOf } from "./services";
import { SHARED_TRAIL_NAME, sharedTrailSelectors } from "./trail-coverage";

export const ACCOUNT_TRAIL_TYPE = "airlock:aws:AccountTrail";
/** Key prefix of the trail's log files in its bucket. */
export const ACCOUNT_TRAIL_PREFIX = "cloudtrail";

export interface AccountTrailArgs {
  /** The trail's home region (where it is managed; it logs every region). */
  region: string;
  /** Object Lock of the trail's log files (compliance by default, like a sandbox's record). */
  lockMode?: "compliance" | "governance";
  retentionDays?: number;
}

export class AwsAccountTrail extends pulumi.ComponentResource {
  readonly trailName: pulumi.Output<string>;
  readonly trailArn: pulumi.Output<string>;
  readonly logBucket: pulumi.Output<string>;

  constructor(name: string, args: AccountTrailArgs, opts?: pulumi.ComponentResourceOptions) {
    super(ACCOUNT_TRAIL_TYPE, name, {}, opts);
    const p = partitionOf(args.region);
    const provider = new aws.Provider(`${name}-aws`, { region: args.region as aws.Region }, { parent: this });
    const o = (extra: pulumi.CustomResourceOptions = {}) => ({ parent: this, provider, ...extra });
    const keep = o({ retainOnDelete: true });
    const tags = { [ROLE_TAG]: "account-trail" };
    const account = aws.getCallerIdentityOutput({}, { parent: this, provider }).accountId;

    // Same store shape as a sandbox's record (record.ts): Object Lock, versioning, no public access, SSE.
    const bucket = new aws.s3.Bucket(`${name}-logs`, { bucketPrefix: "airlock-trail-", objectLockEnabled: true, forceDestroy: false, tags }, keep);
    new aws.s3.BucketPublicAccessBlock(`${name}-logs-pab`, { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true }, keep);
    new aws.s3.BucketOwnershipControls(`${name}-logs-owner`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, keep);
    new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-logs-sse`, { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] }, keep);
    const versioning = new aws.s3.BucketVersioning(`${name}-logs-versioning`, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, keep);
    new aws.s3.BucketObjectLockConfiguration(
      `${name}-logs-lock`,
      { bucket: bucket.id, rule: { defaultRetention: { mode: LOCK_MODE[args.lockMode ?? "compliance"], days: args.retentionDays ?? 90 } } },
      { ...keep, dependsOn: [versioning] },
    );

    // CloudTrail's bucket policy (AWS CloudTrail User Guide, "Amazon S3 bucket policy for CloudTrail"),
    // narrowed to this one trail by aws:SourceArn.
    const arn = pulumi.interpolate`arn:${p}:cloudtrail:${args.region}:${account}:trail/${SHARED_TRAIL_NAME}`;
    const policy = pulumi.all([bucket.bucket, account, arn]).apply(([b, acct, trail]) =>
      policyDocument([
        { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [s3BucketArn(p, b), `${s3BucketArn(p, b)}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } },
        { Sid: "TrailAclCheck", Effect: "Allow", Principal: { Service: "cloudtrail.amazonaws.com" }, Action: ["s3:GetBucketAcl"], Resource: [s3BucketArn(p, b)], Condition: { StringEquals: { "aws:SourceArn": trail } } },
        {
          Sid: "TrailWrite",
          Effect: "Allow",
          Principal: { Service: "cloudtrail.amazonaws.com" },
          Action: ["s3:PutObject"],
          Resource: [s3ObjectArn(p, b, `${ACCOUNT_TRAIL_PREFIX}/AWSLogs/${acct}/*`)],
          Condition: { StringEquals: { "aws:SourceArn": trail, "s3:x-amz-acl": "bucket-owner-full-control" } },
        },
      ]),
    );
    const bucketPolicy = new aws.s3.BucketPolicy(`${name}-logs-policy`, { bucket: bucket.id, policy }, keep);

    // Properties per node_modules/@pulumi/aws/cloudtrail/trail.d.ts (TrailArgs): name, s3BucketName,
    // s3KeyPrefix, isMultiRegionTrail ("created in the current region or in all regions"),
    // includeGlobalServiceEvents, enableLogFileValidation, enableLogging, advancedEventSelectors, tags.
    const trail = new aws.cloudtrail.Trail(
      `${name}-trail`,
      {
        name: SHARED_TRAIL_NAME,
        s3BucketName: bucket.bucket,
        s3KeyPrefix: ACCOUNT_TRAIL_PREFIX,
        isMultiRegionTrail: true,
        includeGlobalServiceEvents: true,
        enableLogFileValidation: true,
        enableLogging: true,
        advancedEventSelectors: sharedTrailSelectors(p),
        tags,
      },
      // Protected: a `pulumi destroy` of the account program must not kill every sandbox's kill switch.
      o({ dependsOn: [bucketPolicy], protect: true }),
    );

    this.trailName = trail.name;
    this.trailArn = trail.arn;
    this.logBucket = bucket.bucket;
    this.registerOutputs({ trailName: this.trailName, trailArn: this.trailArn, logBucket: this.logBucket });
  }
}
