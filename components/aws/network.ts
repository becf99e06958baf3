// Boundary: a VPC whose subnets have no route out. No internet, NAT or egress-only gateway; the
// VPC's default route table and default security group are taken over and emptied, so nothing AWS
// creates by default stays open. (Gateway endpoint routes for S3 are added by AWS to the tables the
// endpoint names; the provider leaves them alone.)
//
// The one exception is `unsafe.allowInternet`: the gate subnet (only) then gets an internet gateway
// route so the gate can reach the public upstreams the spec lists. The workload never does.
import * as aws from "@pulumi/aws";
import type { AwsContext } from "./context";
import { SUBNET_PARTS, SubnetPart } from "./plan";

export interface Network {
  vpc: aws.ec2.Vpc;
  subnets: Record<SubnetPart, aws.ec2.Subnet>;
  routeTables: Record<SubnetPart, aws.ec2.RouteTable>;
  internetGateway?: aws.ec2.InternetGateway;
}

export function buildNetwork(ctx: AwsContext): Network {
  const vpc = new aws.ec2.Vpc(ctx.name("vpc"), { cidrBlock: ctx.plan.vpcCidr, enableDnsSupport: true, enableDnsHostnames: true }, ctx.opts());

  // Take over what AWS creates with the VPC and leave it empty.
  new aws.ec2.DefaultSecurityGroup(ctx.name("default-sg"), { vpcId: vpc.id, ingress: [], egress: [] }, ctx.opts());
  new aws.ec2.DefaultRouteTable(ctx.name("default-rt"), { defaultRouteTableId: vpc.defaultRouteTableId, routes: [] }, ctx.opts());

  const internetGateway = ctx.spec.unsafe.allowInternet ? new aws.ec2.InternetGateway(ctx.name("igw"), { vpcId: vpc.id }, ctx.opts()) : undefined;

  // One availability zone for everything: the sandbox is ephemeral, and it keeps gate and workload
  // traffic inside one zone.
  const zone = aws.getAvailabilityZonesOutput({ state: "available" }, ctx.invokeOpts()).names[0];

  const subnets = {} as Record<SubnetPart, aws.ec2.Subnet>;
  const routeTables = {} as Record<SubnetPart, aws.ec2.RouteTable>;
  for (const part of SUBNET_PARTS) {
    subnets[part] = new aws.ec2.Subnet(ctx.name(`${part}-subnet`), { vpcId: vpc.id, cidrBlock: ctx.plan.subnets[part], availabilityZone: zone, mapPublicIpOnLaunch: false }, ctx.opts());
    const routes = part === "gate" && internetGateway ? [{ cidrBlock: "0.0.0.0/0", gatewayId: internetGateway.id }] : [];
    routeTables[part] = new aws.ec2.RouteTable(ctx.name(`${part}-rt`), { vpcId: vpc.id, routes }, ctx.opts());
    new aws.ec2.RouteTableAssociation(ctx.name(`${part}-rta`), { subnetId: subnets[part].id, routeTableId: routeTables[part].id }, ctx.opts());
  }
  return { vpc, subnets, routeTables, internetGateway };
}
