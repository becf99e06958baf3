// DNS is an egress path NSGs do not see: Azure's resolver (168.63.129.16) answers any internet name,
// so without a policy a workload can leak data in query names (clouds.md §11). A DNS security policy
// (dnsresolver.DnsResolverPolicy + DnsResolverDomainList + DnsSecurityRule +
// DnsResolverPolicyVirtualNetworkLink — node_modules/@pulumi/azure-native/dnsresolver/*.d.ts;
// actions Allow | Alert | Block) on the VNet allows exactly the names the sandbox needs and blocks
// every other name ("." matches all domains — UNVERIFIED against a live resolver).
import * as pulumi from "@pulumi/pulumi";
import * as dnsresolver from "@pulumi/azure-native/dnsresolver";
import type { AzureContext } from "./context";
import type { Network } from "./network";
import { BLOB_PRIVATE_ZONE } from "./services";
import { AZURE_ENDPOINT_SERVICES } from "./services";
import { IPV4_LITERAL } from "../cloud/layout";

export const DNS_ALLOW_PRIORITY = 100;
export const DNS_BLOCK_PRIORITY = 200;
/** Every name (the root). */
export const ALL_NAMES = ".";

const fqdn = (name: string) => (name.endsWith(".") ? name : `${name}.`);

/** The names the sandbox resolves: the VNet's internal names, the record and model accounts (public and privatelink names). */
export function allowedNames(ctx: AzureContext): string[] {
  const { plan } = ctx;
  const names = [
    "internal.cloudapp.net", // Azure-provided names of the VNet's own machines
    plan.recordHost,
    `${plan.recordAccount}.${BLOB_PRIVATE_ZONE}`,
    ...plan.endpoints.flatMap((ep) => [ep.hostname, `${ep.subDomain}.${AZURE_ENDPOINT_SERVICES[ep.service].privateZone}`]),
    // Public host names only exist with unsafe.allowInternet (validation refuses them otherwise).
    ...plan.publicAddresses.map((a) => a.host).filter((h) => !IPV4_LITERAL.test(h)),
  ];
  return [...new Set(names.map(fqdn))];
}

export function buildDnsGuard(ctx: AzureContext, net: Network): pulumi.Resource[] {
  const rg = net.group.name;
  const policy = new dnsresolver.DnsResolverPolicy(ctx.name("dns-policy"), { resourceGroupName: rg, dnsResolverPolicyName: ctx.quietName("dns") }, ctx.opts());
  const allowed = new dnsresolver.DnsResolverDomainList(ctx.name("dns-allowed"), { resourceGroupName: rg, dnsResolverDomainListName: ctx.quietName("dns-allowed"), domains: allowedNames(ctx) }, ctx.opts());
  const everything = new dnsresolver.DnsResolverDomainList(ctx.name("dns-all"), { resourceGroupName: rg, dnsResolverDomainListName: ctx.quietName("dns-all"), domains: [ALL_NAMES] }, ctx.opts());
  const allow = new dnsresolver.DnsSecurityRule(
    ctx.name("dns-allow"),
    { resourceGroupName: rg, dnsResolverPolicyName: policy.name, dnsSecurityRuleName: "allow-sandbox-names", priority: DNS_ALLOW_PRIORITY, action: { actionType: "Allow" }, dnsResolverDomainLists: [{ id: allowed.id }], dnsSecurityRuleState: "Enabled" },
    ctx.opts(),
  );
  const block = new dnsresolver.DnsSecurityRule(
    ctx.name("dns-block"),
    { resourceGroupName: rg, dnsResolverPolicyName: policy.name, dnsSecurityRuleName: "block-everything-else", priority: DNS_BLOCK_PRIORITY, action: { actionType: "Block" }, dnsResolverDomainLists: [{ id: everything.id }], dnsSecurityRuleState: "Enabled" },
    ctx.opts(),
  );
  const link = new dnsresolver.DnsResolverPolicyVirtualNetworkLink(
    ctx.name("dns-link"),
    { resourceGroupName: rg, dnsResolverPolicyName: policy.name, dnsResolverPolicyVirtualNetworkLinkName: ctx.quietName("dns-link"), virtualNetwork: { id: net.vnet.id } },
    ctx.opts({ dependsOn: [allow, block] }),
  );
  return [link];
}
