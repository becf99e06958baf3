// Boundary: the sandbox's resource group and a VNet whose subnets have no way out.
//   - every subnet is created with defaultOutboundAccess: false (API 2024-05-01+ still defaults to
//     outbound access, and the setting can only be made at creation — clouds.md §1/§11;
//     network/subnet.d.ts `defaultOutboundAccess`), so without a NAT gateway, public IP or load
//     balancer there is no implicit internet path;
//   - every subnet has its own route table with BGP propagation off (network/routeTable.d.ts
//     `disableBgpRoutePropagation`) and one route, 0.0.0.0/0 -> None: it overrides Azure's system
//     default route to the Internet, so even a public IP added later has no route out;
//   - private endpoints obey the subnet's NSG and routes (`privateEndpointNetworkPolicies: Enabled`);
//   - no NAT gateway, public IP, peering or VPN gateway is ever created.
// The one exception is `unsafe.allowInternet`: the gate subnet (only) then routes 0.0.0.0/0 to the
// Internet and the gate gets a public IP (gate.ts), to reach the public upstreams the spec lists.
import * as resources from "@pulumi/azure-native/resources";
import * as network from "@pulumi/azure-native/network";
import type { AzureContext } from "./context";
import type { Firewall } from "./firewall";
import { SUBNET_PARTS, SubnetPart } from "./plan";

export interface Network {
  group: resources.ResourceGroup;
  vnet: network.VirtualNetwork;
  subnets: Record<SubnetPart, network.Subnet>;
  routeTables: Record<SubnetPart, network.RouteTable>;
}

export const BLACKHOLE_ROUTE = { name: "no-default-route", addressPrefix: "0.0.0.0/0", nextHopType: "None" } as const;

export function createSandboxGroup(ctx: AzureContext): resources.ResourceGroup {
  return new resources.ResourceGroup(ctx.name("rg"), { resourceGroupName: ctx.sandboxGroup, location: ctx.location }, ctx.opts());
}

export function buildNetwork(ctx: AzureContext, group: resources.ResourceGroup, fw: Firewall): Network {
  const rg = group.name;
  const vnet = new network.VirtualNetwork(ctx.name("vnet"), { resourceGroupName: rg, virtualNetworkName: ctx.quietName("net"), addressSpace: { addressPrefixes: [ctx.plan.vnetCidr] } }, ctx.opts());
  const subnets = {} as Record<SubnetPart, network.Subnet>;
  const routeTables = {} as Record<SubnetPart, network.RouteTable>;
  let previous: network.Subnet | undefined;
  for (const part of SUBNET_PARTS) {
    const internet = part === "gate" && ctx.spec.unsafe.allowInternet && ctx.plan.publicAddresses.length > 0;
    routeTables[part] = new network.RouteTable(
      ctx.name(`${part}-rt`),
      { resourceGroupName: rg, routeTableName: ctx.quietName(`${part}-rt`), disableBgpRoutePropagation: true, routes: [internet ? { name: "public-upstreams", addressPrefix: "0.0.0.0/0", nextHopType: "Internet" } : BLACKHOLE_ROUTE] },
      ctx.opts(),
    );
    subnets[part] = new network.Subnet(
      ctx.name(`${part}-subnet`),
      {
        resourceGroupName: rg,
        virtualNetworkName: vnet.name,
        subnetName: part,
        addressPrefix: ctx.plan.subnets[part],
        defaultOutboundAccess: false,
        networkSecurityGroup: { id: fw[part].id },
        routeTable: { id: routeTables[part].id },
        privateEndpointNetworkPolicies: "Enabled",
      },
      // Parallel subnet writes on one VNet conflict (clouds.md §11): one at a time.
      ctx.opts({ dependsOn: previous ? [previous] : [] }),
    );
    previous = subnets[part];
  }
  return { group, vnet, subnets, routeTables };
}
