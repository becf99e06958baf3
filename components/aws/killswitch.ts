// The kill switch: detection of canary use, the alert, and the action that stops the workload.
//
// Detected: the account's one shared trail (account-trail.ts, adopted by shared-trail.ts: data events
// on every canary store, management events) → this sandbox's own EventBridge rules, which match only
// this sandbox: a call by the sandbox on a canary object of *its* artifacts bucket, a call signed with
// *its* canary key. Another sandbox's canary touch never stops this workload.
// Wired: every detection publishes to the sandbox's SNS topic and, when the kill switch has a
// `canary` rule and `unsafe.canaryAlertOnly` is not set, starts the AWS-owned Automation runbook
// AWS-StopEC2Instance on the workload (no hand-written Lambda). The runbook's role may stop only this
// workload instance. What is planted: canaries.ts.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { AwsContext } from "./context";
import { assumeRolePolicy, policyDocument } from "./policies";
import type { CanaryPlan } from "./canaries";
import { CANARY_PREFIX } from "../cloud/bait";

export const KILL_RUNBOOK = "AWS-StopEC2Instance";

export function killIsWired(ctx: AwsContext): boolean {
  return ctx.spec.killSwitch.rules.some((r) => r.on === "canary") && !ctx.spec.unsafe.canaryAlertOnly;
}

export interface AlarmArgs {
  canaries: CanaryPlan;
  artifactsBucket: aws.s3.Bucket;
  workload: aws.ec2.Instance;
  /** The workload's role: its sessions are the principals whose canary-object reads count. */
  workloadRoleArn: pulumi.Input<string>;
  /** The sandbox's S3 gateway endpoint: whatever reaches the canaries from inside comes through it. */
  s3EndpointId: pulumi.Input<string>;
}

/** The detection rules, the alert topic and the kill action (the trail is the account's: shared-trail.ts). */
export function wireAlarms(ctx: AwsContext, a: AlarmArgs): void {
  if (!ctx.spec.canaries.enabled) return;
  const rules: aws.cloudwatch.EventRule[] = [];
  const objectPattern = pulumi.all([a.artifactsBucket.bucket, a.workloadRoleArn, a.s3EndpointId]).apply(([bucket, roleArn, endpointId]) => canaryObjectPattern(bucket, roleArn, endpointId));
  rules.push(new aws.cloudwatch.EventRule(ctx.name("canary-object-rule"), { description: "Canary object touched", eventPattern: objectPattern }, ctx.opts()));
  let keyPattern: pulumi.Output<string> | undefined;
  if (a.canaries.accessKey) {
    keyPattern = a.canaries.accessKey.id.apply((keyId) => JSON.stringify({ "detail-type": ["AWS API Call via CloudTrail"], detail: { userIdentity: { accessKeyId: [keyId] } } }));
    // Read-only calls (sts:GetCallerIdentity, an attacker's first call with a key) reach a rule only in
    // this state; with plain ENABLED CloudTrail delivers mutating calls only. (Valid values per
    // node_modules/@pulumi/aws/cloudwatch/eventRule.d.ts, EventRuleArgs.state.)
    rules.push(new aws.cloudwatch.EventRule(ctx.name("canary-key-rule"), { description: "Canary credential used", eventPattern: keyPattern, state: CLOUDTRAIL_RULE_STATE }, ctx.opts()));
  }

  const topic = new aws.sns.Topic(ctx.name("alerts"), {}, ctx.opts());
  subscribeAlerts(ctx, topic);
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
  const dlq = deadLetterQueue(ctx, rules);
  const delivery = { deadLetterConfig: { arn: dlq.arn }, retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 } };
  rules.forEach((rule, i) => new aws.cloudwatch.EventTarget(ctx.name(`alert-target-${i}`), { rule: rule.name, arn: topic.arn, ...delivery }, ctx.opts()));
  if (keyPattern && ctx.region !== GLOBAL_EVENTS_REGION) forwardGlobalEvents(ctx, keyPattern);
  watchDeliveries(ctx, rules, dlq, topic);

  if (!killIsWired(ctx)) return;
  const kill = killAction(ctx, a.workload);
  rules.forEach((rule, i) => new aws.cloudwatch.EventTarget(ctx.name(`kill-target-${i}`), { rule: rule.name, arn: kill.runbookArn, roleArn: kill.invokeRole.arn, input: kill.input, ...delivery }, ctx.opts()));
}

/**
 * Calls on a canary object by the sandbox only: a session of the workload's role, or anything that
 * came through the sandbox's S3 endpoint. Not any principal — the operator's own `pulumi up` /
 * `refresh` reads and writes the canary objects from outside, and must not stop the workload.
 * Field names of CloudTrail records (EventBridge puts the record under `detail`): an assumed-role
 * session's `userIdentity.sessionContext.sessionIssuer.arn` is the role's ARN; `vpcEndpointId` is set
 * on requests made through a VPC endpoint (CloudTrail record contents, AWS CloudTrail User Guide).
 * `$or` is EventBridge's content filter for alternatives (EventBridge User Guide, event patterns).
 */
export function canaryObjectPattern(bucket: string, workloadRoleArn: string, s3EndpointId: string): string {
  return JSON.stringify({
    "detail-type": ["AWS API Call via CloudTrail"],
    detail: {
      eventSource: ["s3.amazonaws.com"],
      requestParameters: { bucketName: [bucket], key: [{ prefix: CANARY_PREFIX }] },
      $or: [{ userIdentity: { sessionContext: { sessionIssuer: { arn: [workloadRoleArn] } } } }, { vpcEndpointId: [s3EndpointId] }],
    },
  });
}

/** IAM and STS are global services: CloudTrail delivers their calls (a canary key's first use) in us-east-1. */
export const GLOBAL_EVENTS_REGION = "us-east-1";
export const CLOUDTRAIL_RULE_STATE = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS";

/**
 * The same canary-key rule in us-east-1, forwarding matches to the sandbox region's default event bus,
 * where the canary-key rule above alerts and kills (an SSM automation target must be in its own
 * region). `region` per resource: node_modules/@pulumi/aws/cloudwatch/eventRule.d.ts (EventRuleArgs.region).
 */
function forwardGlobalEvents(ctx: AwsContext, keyPattern: pulumi.Output<string>): void {
  const p = ctx.partition;
  const bus = pulumi.interpolate`arn:${p}:events:${ctx.region}:${ctx.accountId}:event-bus/default`;
  const rule = new aws.cloudwatch.EventRule(ctx.name("canary-key-global-rule"), { description: "Canary credential used (global services)", eventPattern: keyPattern, state: CLOUDTRAIL_RULE_STATE, region: GLOBAL_EVENTS_REGION }, ctx.opts());
  const role = new aws.iam.Role(ctx.name("canary-forward-role"), { assumeRolePolicy: assumeRolePolicy("events.amazonaws.com", ctx.accountId) }, ctx.opts());
  new aws.iam.RolePolicy(ctx.name("canary-forward-policy"), { role: role.name, policy: policyDocument([{ Sid: "ForwardToSandboxRegion", Effect: "Allow", Action: ["events:PutEvents"], Resource: [bus] }]) }, ctx.opts());
  new aws.cloudwatch.EventTarget(ctx.name("canary-key-forward"), { rule: rule.name, arn: bus, roleArn: role.arn, region: GLOBAL_EVENTS_REGION }, ctx.opts());
}

/**
 * The spec's `alerts` as subscriptions of the alert topic (none by default). They hang off the topic
 * only: the kill target is the rule's own, so an unconfirmed, bouncing or absent subscriber never
 * delays or blocks the stop. Both protocols need the recipient to confirm (SNS sends a confirmation
 * message); until then SNS holds the subscription pending and delivers nothing to it — and the
 * provider cannot delete a pending one (node_modules/@pulumi/aws/sns/topicSubscription.d.ts, NOTE).
 */
export function subscribeAlerts(ctx: AwsContext, topic: aws.sns.Topic): aws.sns.TopicSubscription[] {
  const { email, webhook } = ctx.spec.alerts;
  const subs: aws.sns.TopicSubscription[] = [];
  if (email) subs.push(new aws.sns.TopicSubscription(ctx.name("alerts-email"), { topic: topic.arn, protocol: "email", endpoint: email }, ctx.opts()));
  if (webhook) subs.push(new aws.sns.TopicSubscription(ctx.name("alerts-webhook"), { topic: topic.arn, protocol: "https", endpoint: webhook }, ctx.opts()));
  return subs;
}

/** Where EventBridge puts what it could not deliver (a dead kill path must not go unseen). */
function deadLetterQueue(ctx: AwsContext, rules: aws.cloudwatch.EventRule[]): aws.sqs.Queue {
  const queue = new aws.sqs.Queue(ctx.name("kill-dlq"), { sqsManagedSseEnabled: true, messageRetentionSeconds: 1_209_600 }, ctx.opts());
  new aws.sqs.QueuePolicy(
    ctx.name("kill-dlq-policy"),
    {
      queueUrl: queue.id,
      policy: pulumi.all([queue.arn, pulumi.all(rules.map((r) => r.arn))]).apply(([queueArn, ruleArns]) =>
        policyDocument([{ Sid: "SandboxRulesDeadLetters", Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: ["sqs:SendMessage"], Resource: [queueArn], Condition: { ArnEquals: { "aws:SourceArn": ruleArns } } }]),
      ),
    },
    ctx.opts(),
  );
  return queue;
}

/** Alarms on failed target invocations of every detection rule, and on anything in the dead-letter queue. */
function watchDeliveries(ctx: AwsContext, rules: aws.cloudwatch.EventRule[], dlq: aws.sqs.Queue, topic: aws.sns.Topic): void {
  const common = { comparisonOperator: "GreaterThanOrEqualToThreshold", threshold: 1, evaluationPeriods: 1, period: 60, statistic: "Sum", treatMissingData: "notBreaching", alarmActions: [topic.arn] };
  rules.forEach((rule, i) =>
    new aws.cloudwatch.MetricAlarm(ctx.name(`kill-failed-${i}`), { ...common, namespace: "AWS/Events", metricName: "FailedInvocations", dimensions: { RuleName: rule.name }, alarmDescription: "A detection rule could not start its alert or kill target" }, ctx.opts()),
  );
  new aws.cloudwatch.MetricAlarm(ctx.name("kill-dlq-alarm"), { ...common, statistic: "Maximum", namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: dlq.name }, alarmDescription: "Undelivered alert or kill events" }, ctx.opts());
}

/**
 * The runbook as SSM authorises it. AWS-owned documents are matched against an ARN with an *empty*
 * account field (arn:<partition>:ssm:<region>::automation-definition/AWS-…); granting the ARN with
 * this account's id matches nothing and StartAutomationExecution is denied — the kill never runs.
 */
export function ownedRunbookGrant(partition: string, region: string, runbook = KILL_RUNBOOK): string {
  return `arn:${partition}:ssm:${region}::automation-definition/${runbook}:*`;
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
        { Sid: "StartStopRunbook", Effect: "Allow", Action: ["ssm:StartAutomationExecution"], Resource: [ownedRunbookGrant(p, ctx.region)] },
        { Sid: "PassAutomationRole", Effect: "Allow", Action: ["iam:PassRole"], Resource: [automationRole.arn], Condition: { StringEquals: { "iam:PassedToService": "ssm.amazonaws.com" } } },
      ]),
    },
    ctx.opts(),
  );
  const input = pulumi.all([workload.id, automationRole.arn]).apply(([id, role]) => JSON.stringify({ InstanceId: [id], AutomationAssumeRole: [role] }));
  return { runbookArn, invokeRole, input };
}
