// Who may talk to whom. One security group per role; rules are separate resources (never inline,
// never mixed with inline). The provider removes AWS's default allow-all egress from new groups, so
// each group starts closed and gets exactly:
//   workload -> gate listener ports, and the S3 gateway endpoint (the record) on 443
//   gate     <- workload on listener ports; -> S3 (artifacts, record), interface endpoints, targets,
//               private addresses listed in the spec
//   endpoints <- gate on 443;   targets <- gate on their ports
// Nothing has an inbound rule from outside the VPC; the workload has no inbound rule at all.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { AwsContext, roleTag } from "./context";

export interface Firewall {
  workload: aws.ec2.SecurityGroup;
  gate: aws.ec2.SecurityGroup;
  endpoints: aws.ec2.SecurityGroup;
  targets: aws.ec2.SecurityGroup;
}

const HTTPS = 443;

export function createSecurityGroups(ctx: AwsContext, vpc: aws.ec2.Vpc): Firewall {
  const group = (role: "workload" | "gate" | "endpoint" | "target", part: string, description: string) =>
    new aws.ec2.SecurityGroup(ctx.name(`${part}-sg`), { namePrefix: ctx.quietName(part), vpcId: vpc.id, description, tags: roleTag(role) }, ctx.opts());
  return {
    workload: group("workload", "workload", "Sandbox workload: egress to the gate and the record only"),
    gate: group("gate", "gate", "Egress gate: listed upstreams only"),
    endpoints: group("endpoint", "endpoints", "Interface endpoints: reachable from the gate only"),
    targets: group("target", "targets", "In-boundary targets: reachable from the gate only"),
  };
}

export function addFirewallRules(ctx: AwsContext, fw: Firewall, s3PrefixListId: pulumi.Input<string>): void {
  const egress = (part: string, from: aws.ec2.SecurityGroup, port: number, to: Partial<aws.vpc.SecurityGroupEgressRuleArgs>, description: string) =>
    new aws.vpc.SecurityGroupEgressRule(ctx.name(`${part}-egress`), { securityGroupId: from.id, ipProtocol: "tcp", fromPort: port, toPort: port, description, ...to }, ctx.opts());
  const ingress = (part: string, into: aws.ec2.SecurityGroup, port: number, from: aws.ec2.SecurityGroup, description: string) =>
    new aws.vpc.SecurityGroupIngressRule(ctx.name(`${part}-ingress`), { securityGroupId: into.id, ipProtocol: "tcp", fromPort: port, toPort: port, referencedSecurityGroupId: from.id, description }, ctx.opts());

  for (const l of ctx.plan.listeners) {
    egress(`workload-to-gate-${l.name}`, fw.workload, l.listenPort, { referencedSecurityGroupId: fw.gate.id }, `to gate listener ${l.name}`);
    ingress(`gate-from-workload-${l.name}`, fw.gate, l.listenPort, fw.workload, `workload to listener ${l.name}`);
  }
  egress("workload-to-s3", fw.workload, HTTPS, { prefixListId: s3PrefixListId }, "record (S3 gateway endpoint)");
  egress("gate-to-s3", fw.gate, HTTPS, { prefixListId: s3PrefixListId }, "artifacts and record (S3 gateway endpoint)");

  if (ctx.plan.endpointServices.length > 0) {
    egress("gate-to-endpoints", fw.gate, HTTPS, { referencedSecurityGroupId: fw.endpoints.id }, "interface endpoints");
    ingress("endpoints-from-gate", fw.endpoints, HTTPS, fw.gate, "gate to interface endpoints");
  }
  const targetPorts = [...new Set(ctx.plan.listeners.filter((l) => l.via === "target").map((l) => l.port))];
  for (const port of targetPorts) {
    egress(`gate-to-targets-${port}`, fw.gate, port, { referencedSecurityGroupId: fw.targets.id }, `targets on ${port}`);
    ingress(`targets-from-gate-${port}`, fw.targets, port, fw.gate, `gate to targets on ${port}`);
  }
  for (const l of ctx.plan.listeners.filter((x) => x.via === "address")) {
    const literal = /^\d+\.\d+\.\d+\.\d+$/.test(l.host!);
    // A host name cannot be put in a security group; only unsafe.allowInternet gets here with one,
    // and then the gate (never the workload) may reach that port anywhere.
    egress(`gate-to-${l.name}`, fw.gate, l.port, { cidrIpv4: literal ? `${l.host}/32` : "0.0.0.0/0" }, `upstream ${l.name}`);
  }
}
