// In-boundary targets (e.g. a mock service a red-team eval attacks): one instance per spec target, at
// a fixed private address, reachable from the gate only, with no egress at all.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { AwsContext } from "./context";
import type { Network } from "./network";
import type { Firewall } from "./firewall";
import { instanceIdentity } from "./identity";
import { hardenedInstance } from "./instance";
import { renderTargetScript } from "../cloud/boot";
import { TARGET_INSTANCE_TYPE } from "./plan";


export function buildTargets(ctx: AwsContext, a: { net: Network; fw: Firewall; logBucket: pulumi.Input<string> }): aws.ec2.Instance[] {
  return ctx.plan.targets.map((t) => {
    const identity = instanceIdentity(ctx, `target-${t.name}`, { logBucket: a.logBucket });
    return hardenedInstance(ctx, `target-${t.name}`, {
      role: "target",
      ami: ctx.images.targets[t.name],
      amiIsLookup: false,
      instanceType: TARGET_INSTANCE_TYPE,
      subnet: a.net.subnets.targets,
      privateIp: t.privateIp,
      securityGroup: a.fw.targets,
      identity,
      userData: renderTargetScript(ctx.spec.ttlMs / 1000),
      publicIp: false,
    });
  });
}
