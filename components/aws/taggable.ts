// Which AWS resource types take a `tags` argument. Pure data, shared by the tagging transformation
// (components/aws/tags.ts) and the I7 invariant facts (components/aws/facts.ts).
//
// The list is of the types that do NOT take tags: every other `aws:` type is treated as taggable, so a
// type added to the component later is labelled (and checked) unless someone states here that it
// cannot be. test/aws-tags.test.ts checks this list against the @pulumi/aws .d.ts files.

/** Types whose Args have no `tags` property (verified against @pulumi/aws 7.48.0). */
export const AWS_UNTAGGABLE_TYPES: ReadonlySet<string> = new Set([
  "aws:ec2/routeTableAssociation:RouteTableAssociation",
  "aws:ec2/route:Route",
  "aws:s3/bucketVersioning:BucketVersioning",
  "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  "aws:s3/bucketPolicy:BucketPolicy",
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  "aws:iam/rolePolicy:RolePolicy",
  "aws:iam/accessKey:AccessKey",
  "aws:cloudwatch/eventTarget:EventTarget",
  "aws:sns/topicPolicy:TopicPolicy",
  "aws:sqs/queuePolicy:QueuePolicy",
  "aws:scheduler/schedule:Schedule",
  "aws:route53/resolverFirewallRule:ResolverFirewallRule",
  "aws:route53/resolverFirewallConfig:ResolverFirewallConfig",
]);

/** Extra tag fields that must carry the labels too (the root volume is its own EC2 resource). */
export const AWS_EXTRA_TAG_FIELDS: Readonly<Record<string, readonly string[]>> = {
  "aws:ec2/instance:Instance": ["volumeTags"],
};

export function isAwsTaggable(type: string): boolean {
  return type.startsWith("aws:") && !AWS_UNTAGGABLE_TYPES.has(type);
}

/** An Airlock-only tag naming what a resource is for (workload, gate, target, endpoint, ...). */
export const ROLE_TAG = "airlock:role";
