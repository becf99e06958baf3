// DNS is an egress path firewalls do not see: the metadata server's resolver answers any name by
// asking the internet (clouds.md §11), so a sandbox could leak data in query names.
//
// Two pieces, both bound to the sandbox network only:
// - a private zone `googleapis.com.` that answers every Google API name with the restricted VIP
//   (`restricted.googleapis.com` A 199.36.153.4-7, `*.googleapis.com` CNAME to it) — the only API path;
// - a response policy whose root wildcard rule `*.` answers every other name locally (NXDOMAIN-like:
//   an A record to 0.0.0.0, never forwarded), with bypass rules for the private zone and GCE's internal
//   names (the metadata server). Response-policy data "override private zones, the public internet,
//   and GCP internal DNS" (@pulumi/gcp ResponsePolicyRuleArgs.localData). That Cloud DNS accepts the
//   root wildcard `*.` is UNVERIFIED (not in the SDK docs); if it refuses it, deploy fails closed.
import * as gcp from "@pulumi/gcp";
import type { GcpContext } from "./context";
import { DNS_BYPASS, DNS_CATCH_ALL, DNS_SINK_ADDRESS, GOOGLE_APIS_ZONE, RESTRICTED_HOST, RESTRICTED_VIP_ADDRESSES } from "./services";


export function buildDns(ctx: GcpContext, network: gcp.compute.Network): void {
  const zone = new gcp.dns.ManagedZone(
    ctx.name("googleapis-zone"),
    { name: ctx.quietName("apis-zone", 62), dnsName: GOOGLE_APIS_ZONE, visibility: "private", privateVisibilityConfig: { networks: [{ networkUrl: network.id }] }, description: "Google APIs via the restricted VIP" },
    ctx.opts(),
  );
  new gcp.dns.RecordSet(ctx.name("restricted-a"), { managedZone: zone.name, name: RESTRICTED_HOST, type: "A", ttl: 300, rrdatas: [...RESTRICTED_VIP_ADDRESSES] }, ctx.opts());
  new gcp.dns.RecordSet(ctx.name("googleapis-cname"), { managedZone: zone.name, name: `*.${GOOGLE_APIS_ZONE}`, type: "CNAME", ttl: 300, rrdatas: [RESTRICTED_HOST] }, ctx.opts());

  const policy = new gcp.dns.ResponsePolicy(ctx.name("dns-policy"), { responsePolicyName: ctx.quietName("dns", 62), networks: [{ networkUrl: network.id }], description: "Only Google APIs and internal names resolve" }, ctx.opts());
  new gcp.dns.ResponsePolicyRule(
    ctx.name("dns-catch-all"),
    { responsePolicy: policy.responsePolicyName, ruleName: "catch-all", dnsName: DNS_CATCH_ALL, localData: { localDatas: [{ name: DNS_CATCH_ALL, type: "A", ttl: 300, rrdatas: [DNS_SINK_ADDRESS] }] } },
    ctx.opts(),
  );
  DNS_BYPASS.forEach((dnsName, i) => new gcp.dns.ResponsePolicyRule(ctx.name(`dns-bypass-${i}`), { responsePolicy: policy.responsePolicyName, ruleName: `bypass-${i}`, dnsName, behavior: "bypassResponsePolicy" }, ctx.opts()));
}
