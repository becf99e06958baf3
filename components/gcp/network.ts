// Boundary: a VPC network with no path out. `autoCreateSubnetworks: false` (no subnets in every
// region) and `deleteDefaultRoutesOnCreate: true` ("default routes (0.0.0.0/0) will be deleted
// immediately" — @pulumi/gcp NetworkArgs). The only route is the one Private Google Access needs:
// the restricted VIP /30 via the default internet gateway, which matches nothing but Google's API
// front end (clouds.md §11). No Cloud Router, no Cloud NAT, no peering, no VPN.
//
// Subnets have Private Google Access and flow logs of every flow (sampling 1.0) at the shortest
// aggregation interval (5 s) with all metadata; the log sink (record.ts) carries them to the record.
//
// `unsafe.allowInternet` adds a 0.0.0.0/0 route for the gate's network tag only: the gate can then
// reach the public upstreams the spec lists. The workload never gets a route or an external IP.
import * as gcp from "@pulumi/gcp";
import type { GcpContext } from "./context";
import { SUBNET_PARTS, SubnetPart } from "./plan";
import { DEFAULT_INTERNET_GATEWAY, RESTRICTED_VIP_RANGE } from "./services";

export interface Network {
  network: gcp.compute.Network;
  subnets: Record<SubnetPart, gcp.compute.Subnetwork>;
  routes: gcp.compute.Route[];
}

/** Flow log settings: every flow, 5 s aggregation, all metadata (SubnetworkLogConfig). */
export const FLOW_LOG_CONFIG = { aggregationInterval: "INTERVAL_5_SEC", flowSampling: 1, metadata: "INCLUDE_ALL_METADATA" } as const;
/** The network tag the gate carries (only for the unsafe.allowInternet route). */
export const GATE_NETWORK_TAG = "egress-gate";

export function buildNetwork(ctx: GcpContext): Network {
  const network = new gcp.compute.Network(
    ctx.name("vpc"),
    { name: ctx.quietName("net", 62), autoCreateSubnetworks: false, deleteDefaultRoutesOnCreate: true, routingMode: "REGIONAL", description: `Airlock sandbox ${ctx.identity.id}` },
    ctx.opts(),
  );
  const subnets = {} as Record<SubnetPart, gcp.compute.Subnetwork>;
  for (const part of SUBNET_PARTS) {
    subnets[part] = new gcp.compute.Subnetwork(
      ctx.name(`${part}-subnet`),
      { name: ctx.quietName(part, 62), network: network.id, region: ctx.region, ipCidrRange: ctx.plan.subnets[part], privateIpGoogleAccess: true, stackType: "IPV4_ONLY", logConfig: { ...FLOW_LOG_CONFIG } },
      ctx.opts(),
    );
  }
  const routes = [
    new gcp.compute.Route(
      ctx.name("google-apis-route"),
      { name: ctx.quietName("apis", 62), network: network.id, destRange: RESTRICTED_VIP_RANGE, nextHopGateway: DEFAULT_INTERNET_GATEWAY, priority: 1000, description: "Private Google Access (restricted VIP) only" },
      ctx.opts(),
    ),
  ];
  if (ctx.spec.unsafe.allowInternet && ctx.plan.publicAddresses.length > 0)
    routes.push(new gcp.compute.Route(ctx.name("gate-internet-route"), { network: network.id, destRange: "0.0.0.0/0", nextHopGateway: DEFAULT_INTERNET_GATEWAY, tags: [GATE_NETWORK_TAG], priority: 1000 }, ctx.opts()));
  return { network, subnets, routes };
}
