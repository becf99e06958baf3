// The kill switch: detection of canary use, the alert, and the action that stops the workload.
//
// Detected: CloudTrail (data events on the canary objects, management events for the account) →
// EventBridge rules: any API call on a canary object, any call signed with the canary key.
// Wired: every detection publishes to the sandbox's SNS topic and, when the kill switch has a
// `canary` rule and `unsafe.canaryAlertOnly` is not set, starts the AWS-owned Automation runbook
// AWS-StopEC2Instance on the workload (no hand-written Lambda). The runbook's role may stop only this
// workload instance. What is planted: canaries.ts.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { AwsContext } from "./context";
import { assumeRolePolicy, policyDocument } from "./policies";
import type { CanaryPlan } from "./canaries";
import { CANARY_PREFIX } from "./bait";
import { TRAIL_PREFIX } from "./record";

export const KILL_RUNBOOK = "AWS-StopEC2Instance";

export function killIsWired(ctx: AwsContext): boolean {
  return ctx.spec.killSwitch.rules.some((r) => r.on === "canary") && !ctx.spec.unsafe.canaryAlertOnly;
}

export interface AlarmArgs {
  canaries: CanaryPlan;
  artifactsBucket: aws.s3.Bucket;
  logBucket: aws.s3.Bucket;
  recordPolicy: aws.s3.BucketPolicy;
  workload: aws.ec2.Instance;
}

/** The trail, the detection rules, the alert topic and the kill action. */
export function wireAlarms(ctx: AwsContext, a: AlarmArgs): void {
  if (!ctx.spec.canaries.enabled || !a.canaries.trailName) return;
  const p = ctx.partition;
  const canaryArnPrefix = pulumi.interpolate`arn:${p}:s3:::${a.artifactsBucket.bucket}/${CANARY_PREFIX}`;
  new aws.cloudtrail.Trail(
    ctx.name("trail"),
    {
      name: a.canaries.trailName,
      s3BucketName: a.logBucket.bucket,
      s3KeyPrefix: TRAIL_PREFIX,
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: true,
      enableLogFileValidation: true,
      advancedEventSelectors: [
        { name: "Management events (canary key use)", fieldSelectors: [{ field: "eventCategory", equals: ["Management"] }] },
        {
          name: "Canary objects",
          fieldSelectors: [
            { field: "eventCategory", equals: ["Data"] },
            { field: "resources.type", equals: ["AWS::S3::Object"] },
            { field: "resources.ARN", startsWiths: [canaryArnPrefix] },
          ],
        },
      ],
    },
    ctx.opts({ dependsOn: [a.recordPolicy] }),
  );

  const rules: aws.cloudwatch.EventRule[] = [];
  const objectPattern = a.artifactsBucket.bucket.apply((bucket) =>
    JSON.stringify({ "detail-type": ["AWS API Call via CloudTrail"], detail: { eventSource: ["s3.amazonaws.com"], requestParameters: { bucketName: [bucket], key: [{ prefix: CANARY_PREFIX }] } } }),
  );
  rules.push(new aws.cloudwatch.EventRule(ctx.name("canary-object-rule"), { description: "Canary object touched", eventPattern: objectPattern }, ctx.opts()));
  if (a.canaries.accessKey) {
    const keyPattern = a.canaries.accessKey.id.apply((keyId) => JSON.stringify({ "detail-type": ["AWS API Call via CloudTrail"], detail: { userIdentity: { accessKeyId: [keyId] } } }));
    rules.push(new aws.cloudwatch.EventRule(ctx.name("canary-key-rule"), { description: "Canary credential used", eventPattern: keyPattern }, ctx.opts()));
  }

  const topic = new aws.sns.Topic(ctx.name("alerts"), {}, ctx.opts());
  new aws.sns.TopicPolicy(
    ctx.name("alerts-policy"),
    {
      arn: topic.arn,
      policy: pulumi.all([topic.arn, pulumi.all(rules.map((r) => r.arn))]).apply(([topicArn, ruleArns]) =>
        policyDocument([{ Sid: "SandboxRulesPublish", Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: ["sns:Publish"], Resource: [topicArn], Condition: { ArnEquals: { "aws:SourceArn": ruleArns } } }]),
      ),
    },
    ctx.opts(),
  );
  rules.forEach((rule, i) => new aws.cloudwatch.EventTarget(ctx.name(`alert-target-${i}`), { rule: rule.name, arn: topic.arn }, ctx.opts()));

  if (!killIsWired(ctx)) return;
  const kill = killAction(ctx, a.workload);
  rules.forEach((rule, i) => new aws.cloudwatch.EventTarget(ctx.name(`kill-target-${i}`), { rule: rule.name, arn: kill.runbookArn, roleArn: kill.invokeRole.arn, input: kill.input }, ctx.opts()));
}

/** Roles and input for starting AWS-StopEC2Instance on the workload from EventBridge. */
function killAction(ctx: AwsContext, workload: aws.ec2.Instance) {
  const p = ctx.partition;
  const runbookArn = pulumi.interpolate`arn:${p}:ssm:${ctx.region}:${ctx.accountId}:automation-definition/${KILL_RUNBOOK}:$DEFAULT`;

  // The runbook runs as this role: it may stop this instance and read instance state, nothing else.
  const automationRole = new aws.iam.Role(ctx.name("kill-automation-role"), { assumeRolePolicy: assumeRolePolicy("ssm.amazonaws.com", ctx.accountId) }, ctx.opts());
  new aws.iam.RolePolicy(
    ctx.name("kill-automation-policy"),
    {
      role: automationRole.name,
      policy: policyDocument([
        { Sid: "StopWorkload", Effect: "Allow", Action: ["ec2:StopInstances"], Resource: [workload.arn] },
        // Describe calls have no resource-level permissions in EC2.
        { Sid: "ReadInstanceState", Effect: "Allow", Action: ["ec2:DescribeInstances", "ec2:DescribeInstanceStatus"], Resource: "*" },
      ]),
    },
    ctx.opts(),
  );

  // EventBridge assumes this role to start the runbook and hand it the role above.
  const invokeRole = new aws.iam.Role(ctx.name("kill-invoke-role"), { assumeRolePolicy: assumeRolePolicy("events.amazonaws.com", ctx.accountId) }, ctx.opts());
  new aws.iam.RolePolicy(
    ctx.name("kill-invoke-policy"),
    {
      role: invokeRole.name,
      policy: policyDocument([
        { Sid: "StartStopRunbook", Effect: "Allow", Action: ["ssm:StartAutomationExecution"], Resource: [pulumi.interpolate`arn:${p}:ssm:${ctx.region}:${ctx.accountId}:automation-definition/${KILL_RUNBOOK}:*`] },
        { Sid: "PassAutomationRole", Effect: "Allow", Action: ["iam:PassRole"], Resource: [automationRole.arn], Condition: { StringEquals: { "iam:PassedToService": "ssm.amazonaws.com" } } },
      ]),
    },
    ctx.opts(),
  );
  const input = pulumi.all([workload.id, automationRole.arn]).apply(([id, role]) => JSON.stringify({ InstanceId: [id], AutomationAssumeRole: [role] }));
  return { runbookArn, invokeRole, input };
}
