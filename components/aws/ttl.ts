// The platform-enforced TTL: an EventBridge Scheduler one-time schedule at the sandbox's expiry that
// terminates every instance through the universal (AWS SDK) target — whatever happens inside the
// instances. The in-guest timer (../cloud/boot.ts) is the second, independent line. `expiresAt` is the
// expiry kept in the stack's state (components/expiry.ts), so a re-run does not move the schedule. A schedule has no
// tags of its own; it lives in a schedule group that carries the sandbox labels.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { AwsContext } from "./context";
import { assumeRolePolicy, policyDocument } from "./policies";

export const TERMINATE_TARGET_ARN = "arn:aws:scheduler:::aws-sdk:ec2:terminateInstances";

/** `at(yyyy-mm-ddThh:mm:ss)`, read in UTC (scheduleExpressionTimezone). */
export function atExpression(when: Date): string {
  return `at(${when.toISOString().replace(/\.\d{3}Z$/, "")})`;
}

export function scheduleTermination(ctx: AwsContext, instances: aws.ec2.Instance[], expiresAt: pulumi.Input<string>): aws.scheduler.Schedule {
  const group = new aws.scheduler.ScheduleGroup(ctx.name("ttl-group", 56), {}, ctx.opts());
  const role = new aws.iam.Role(ctx.name("ttl-role"), { assumeRolePolicy: assumeRolePolicy("scheduler.amazonaws.com", ctx.accountId) }, ctx.opts());
  new aws.iam.RolePolicy(
    ctx.name("ttl-policy"),
    { role: role.name, policy: policyDocument([{ Sid: "TerminateSandboxInstances", Effect: "Allow", Action: ["ec2:TerminateInstances"], Resource: instances.map((i) => i.arn) }]) },
    ctx.opts(),
  );
  return new aws.scheduler.Schedule(
    ctx.name("ttl", 56),
    {
      groupName: group.name,
      description: `Expiry of sandbox ${ctx.identity.id}`,
      scheduleExpression: pulumi.output(expiresAt).apply((at) => atExpression(new Date(at))),
      scheduleExpressionTimezone: "UTC",
      flexibleTimeWindow: { mode: "OFF" },
      target: {
        arn: TERMINATE_TARGET_ARN,
        roleArn: role.arn,
        input: pulumi.all(instances.map((i) => i.id)).apply((ids) => JSON.stringify({ InstanceIds: ids })),
        retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 },
      },
    },
    ctx.opts(),
  );
}
