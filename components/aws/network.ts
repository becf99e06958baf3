// Boundary: a VPC whose subnets have no route out. No internet, NAT or egress-only gateway; the
// VPC's default route table and default security group are taken over and emptied, so nothing AWS
// creates by default stays open. (Gateway endpoint routes for S3 are added by AWS to the tables the
// endpoint names; the provider leaves them alone.)
//
// The one exception is `unsafe.allowInternet`: the gate subnet (only) then gets an internet gateway
// route so the gate can reach the public upstreams the spec lists. The workload never does.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { AwsContext } from "./context";
import { awsInstanceType } from "./rules";
import { sizingViewOf } from "../spec/backend-rules";
import { GATE_INSTANCE_TYPE, SUBNET_PARTS, SubnetPart, TARGET_INSTANCE_TYPE } from "./plan";

export interface Network {
  vpc: aws.ec2.Vpc;
  subnets: Record<SubnetPart, aws.ec2.Subnet>;
  routeTables: Record<SubnetPart, aws.ec2.RouteTable>;
  internetGateway?: aws.ec2.InternetGateway;
}

/**
 * The zone: a regular Availability Zone (not a Local/Wavelength Zone, none that needs opting in) that
 * offers every instance type the sandbox runs — the workload's (its TEE lives on it), the gate's and
 * the targets'. `names[0]` of all zones could be a Local Zone or a zone without the type, and
 * RunInstances would fail after the retained record bucket exists. Filters per
 * node_modules/@pulumi/aws/getAvailabilityZones.d.ts and ec2/getInstanceTypeOfferings.d.ts; filter
 * names from EC2 DescribeAvailabilityZones / DescribeInstanceTypeOfferings.
 */
export function sandboxZone(ctx: AwsContext, instanceTypes: string[] = sandboxInstanceTypes(ctx)): pulumi.Output<string> {
  const zones = aws.getAvailabilityZonesOutput(
    { state: "available", filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }, { name: "zone-type", values: ["availability-zone"] }] },
    ctx.invokeOpts(),
  );
  const offerings = instanceTypes.map(
    (t) => aws.ec2.getInstanceTypeOfferingsOutput({ locationType: "availability-zone", filters: [{ name: "instance-type", values: [t] }] }, ctx.invokeOpts()).locations,
  );
  return pulumi.all([zones.names, pulumi.all(offerings)]).apply(([names, offered]) => {
    const usable = [...names].sort().filter((z) => offered.every((locations) => locations.includes(z)));
    if (!usable.length)
      throw new Error(`region ${ctx.region}: no opt-in-free Availability Zone offers all of ${instanceTypes.join(", ")}; choose another region (region:) or size (workload.machineType:)`);
    return usable[0];
  });
}

function sandboxInstanceTypes(ctx: AwsContext): string[] {
  const types = [awsInstanceType(sizingViewOf(ctx.spec)!)!, GATE_INSTANCE_TYPE, ...(ctx.spec.targets.length ? [TARGET_INSTANCE_TYPE] : [])];
  return [...new Set(types)];
}

export function buildNetwork(ctx: AwsContext): Network {
  const vpc = new aws.ec2.Vpc(ctx.name("vpc"), { cidrBlock: ctx.plan.vpcCidr, enableDnsSupport: true, enableDnsHostnames: true }, ctx.opts());

  // Take over what AWS creates with the VPC and leave it empty.
  new aws.ec2.DefaultSecurityGroup(ctx.name("default-sg"), { vpcId: vpc.id, ingress: [], egress: [] }, ctx.opts());
  new aws.ec2.DefaultRouteTable(ctx.name("default-rt"), { defaultRouteTableId: vpc.defaultRouteTableId, routes: [] }, ctx.opts());

  const internetGateway = ctx.spec.unsafe.allowInternet ? new aws.ec2.InternetGateway(ctx.name("igw"), { vpcId: vpc.id }, ctx.opts()) : undefined;

  // One availability zone for everything: the sandbox is ephemeral, and it keeps gate and workload
  // traffic inside one zone.
  const zone = sandboxZone(ctx);

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
