// Private paths to AWS services. The S3 gateway endpoint carries the record (append) and the
// artifacts (read); one interface endpoint per listed `via: endpoint` service. Every endpoint policy
// names this sandbox's roles and resources, so the endpoints cannot be used to reach anyone else's
// bucket or model account-wide, nor by any other credential (such as the canary key).
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { AwsContext, roleTag } from "./context";
import type { Network } from "./network";
import type { Firewall } from "./firewall";
import { policyDocument, s3ObjectArn } from "./policies";
import { AWS_ENDPOINT_SERVICES, endpointServiceName } from "./services";
import { INSTANCE_LOG_PREFIX } from "./record";

export interface Endpoints {
  s3: aws.ec2.VpcEndpoint;
  interfaces: Record<string, aws.ec2.VpcEndpoint>;
}

export interface EndpointArgs {
  artifactsBucket: pulumi.Input<string>;
  logBucket: pulumi.Input<string>;
  /** Roles allowed through the S3 endpoint (every instance role that reads artifacts or appends logs). */
  s3RoleArns: pulumi.Input<string>[];
  /** The role allowed through interface endpoints (the workload's). */
  workloadRoleArn: pulumi.Input<string>;
}

export function buildEndpoints(ctx: AwsContext, net: Network, fw: Firewall, args: EndpointArgs): Endpoints {
  const p = ctx.partition;
  const s3Policy = pulumi.all([args.artifactsBucket, args.logBucket, pulumi.all(args.s3RoleArns)]).apply(([artifacts, logs, roles]) =>
    policyDocument([
      { Sid: "ReadSandboxArtifacts", Effect: "Allow", Principal: "*", Action: ["s3:GetObject"], Resource: [s3ObjectArn(p, artifacts, "*")], Condition: { ArnEquals: { "aws:PrincipalArn": roles } } },
      { Sid: "AppendSandboxRecord", Effect: "Allow", Principal: "*", Action: ["s3:PutObject"], Resource: [s3ObjectArn(p, logs, `${INSTANCE_LOG_PREFIX}*`)], Condition: { ArnEquals: { "aws:PrincipalArn": roles } } },
    ]),
  );
  const s3 = new aws.ec2.VpcEndpoint(
    ctx.name("s3-endpoint"),
    {
      vpcId: net.vpc.id,
      serviceName: endpointServiceName(ctx.region, "s3"),
      vpcEndpointType: "Gateway",
      routeTableIds: [net.routeTables.workload.id, net.routeTables.gate.id],
      policy: s3Policy,
      tags: roleTag("endpoint"),
    },
    ctx.opts(),
  );

  const interfaces: Record<string, aws.ec2.VpcEndpoint> = {};
  for (const service of ctx.plan.endpointServices) {
    const def = AWS_ENDPOINT_SERVICES[service];
    const policy = pulumi.all([ctx.accountId, args.workloadRoleArn]).apply(([account, role]) =>
      policyDocument([{ Sid: "SandboxWorkloadOnly", Effect: "Allow", Principal: "*", Action: [...def.actions], Resource: def.resources(p, ctx.region, account), Condition: { ArnEquals: { "aws:PrincipalArn": role } } }]),
    );
    interfaces[service] = new aws.ec2.VpcEndpoint(
      ctx.name(`${service}-endpoint`),
      {
        vpcId: net.vpc.id,
        serviceName: endpointServiceName(ctx.region, service),
        vpcEndpointType: "Interface",
        subnetIds: [net.subnets.endpoints.id],
        securityGroupIds: [fw.endpoints.id],
        privateDnsEnabled: true,
        policy,
        tags: roleTag("endpoint"),
      },
      ctx.opts(),
    );
  }
  return { s3, interfaces };
}
