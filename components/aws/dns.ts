// DNS is an egress path security groups do not see: the VPC resolver (the .2 address) answers any
// name by asking the internet, so a sandbox without a resolver policy can leak data in query names.
// Route 53 Resolver DNS Firewall: allow exactly the names the sandbox needs, answer NXDOMAIN to all
// others, and fail closed.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { AwsContext } from "./context";
import { serviceHostname } from "./services";

export const DNS_ALLOW_PRIORITY = 100;
export const DNS_BLOCK_PRIORITY = 200;
export const DNS_ALLOW_REDIRECTION = "TRUST_REDIRECTION_DOMAIN";

export function buildDnsGuard(ctx: AwsContext, vpc: aws.ec2.Vpc, bucketNames: pulumi.Input<string>[]): void {
  const r = ctx.region;
  const staticNames = [
    // Instance-internal names (answered by the resolver itself, never forwarded).
    "*.compute.internal",
    "*.ec2.internal",
    `s3.${r}.amazonaws.com`,
    ...ctx.plan.endpointServices.map((s) => serviceHostname(r, s)),
    // Public host names only exist with unsafe.allowInternet (validation refuses them otherwise).
    ...ctx.plan.publicAddresses.map((a) => a.host).filter((h) => !/^\d+\.\d+\.\d+\.\d+$/.test(h)),
  ];
  const domains = pulumi.all(bucketNames).apply((names) => [...new Set([...staticNames, ...names.map((b) => `${b}.s3.${r}.amazonaws.com`)])]);

  const allowed = new aws.route53.ResolverFirewallDomainList(ctx.name("dns-allowed"), { domains }, ctx.opts());
  const everything = new aws.route53.ResolverFirewallDomainList(ctx.name("dns-all"), { domains: ["*"] }, ctx.opts());
  const group = new aws.route53.ResolverFirewallRuleGroup(ctx.name("dns-rules"), {}, ctx.opts());
  // TRUST_REDIRECTION_DOMAIN: an allowed name's CNAME/ALIAS chain is followed without inspecting each
  // hop. The default (INSPECT_REDIRECTION_DOMAIN) would need every name of the chain on the list, and
  // `<bucket>.s3.<region>.amazonaws.com` is a CNAME to an S3 regional name that is not — the gate's
  // Toxiproxy download and the log shipping would fail. The chain's targets are AWS's own names for
  // the listed services, so trusting them opens nothing else. (Valid values per
  // node_modules/@pulumi/aws/route53/resolverFirewallRule.d.ts, ResolverFirewallRuleArgs.)
  new aws.route53.ResolverFirewallRule(
    ctx.name("dns-allow"),
    { firewallRuleGroupId: group.id, firewallDomainListId: allowed.id, action: "ALLOW", priority: DNS_ALLOW_PRIORITY, firewallDomainRedirectionAction: DNS_ALLOW_REDIRECTION },
    ctx.opts(),
  );
  new aws.route53.ResolverFirewallRule(ctx.name("dns-block"), { firewallRuleGroupId: group.id, firewallDomainListId: everything.id, action: "BLOCK", blockResponse: "NXDOMAIN", priority: DNS_BLOCK_PRIORITY }, ctx.opts());
  new aws.route53.ResolverFirewallRuleGroupAssociation(ctx.name("dns-assoc"), { firewallRuleGroupId: group.id, vpcId: vpc.id, priority: 101 }, ctx.opts());
  new aws.route53.ResolverFirewallConfig(ctx.name("dns-config"), { resourceId: vpc.id, firewallFailOpen: "DISABLED" }, ctx.opts());
}
