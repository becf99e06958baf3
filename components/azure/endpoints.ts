// Private service paths: a private endpoint at a fixed address in the endpoints subnet for the record
// account (blob) and for each model service the spec lists, each with its private DNS zone linked to
// the VNet so the public names resolve to the private addresses inside the boundary (clouds.md §2:
// network.PrivateEndpoint + privatedns.PrivateZone + privatedns.VirtualNetworkLink +
// network.PrivateDnsZoneGroup; static addresses via PrivateEndpoint.ipConfigurations
// {groupId, memberName, privateIPAddress} in network/privateEndpoint.d.ts).
//
// The model endpoint: the sandbox's own Azure OpenAI account (cognitiveservices.Account) with public
// network access off, key auth off (Entra tokens only) and outbound access restricted, and one model
// deployment. Only the workload's identity may call it (identity grant in component.ts).
import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";
import * as privatedns from "@pulumi/azure-native/privatedns";
import * as cognitiveservices from "@pulumi/azure-native/cognitiveservices";
import type { AzureContext } from "./context";
import type { Network } from "./network";
import { roleTag } from "./taggable";
import { AZURE_ENDPOINT_SERVICES, BLOB_PRIVATE_ZONE } from "./services";

export interface Endpoints {
  record: network.PrivateEndpoint;
  /** Model accounts by service name. */
  accounts: Record<string, cognitiveservices.Account>;
  all: pulumi.Resource[];
}

function privateZone(ctx: AzureContext, net: Network, part: string, zoneName: string): privatedns.PrivateZone {
  const zone = new privatedns.PrivateZone(ctx.name(`${part}-zone`), { resourceGroupName: net.group.name, privateZoneName: zoneName, location: "Global" }, ctx.opts());
  new privatedns.VirtualNetworkLink(
    ctx.name(`${part}-zone-link`),
    { resourceGroupName: net.group.name, privateZoneName: zone.name, virtualNetworkLinkName: ctx.quietName(`${part}-link`), location: "Global", virtualNetwork: { id: net.vnet.id }, registrationEnabled: false },
    ctx.opts(),
  );
  return zone;
}

function privateEndpoint(ctx: AzureContext, net: Network, part: string, a: { target: pulumi.Input<string>; groupId: string; memberName: string; ip: string; zone: privatedns.PrivateZone }): network.PrivateEndpoint {
  const pe = new network.PrivateEndpoint(
    ctx.name(`${part}-pe`),
    {
      resourceGroupName: net.group.name,
      privateEndpointName: ctx.quietName(`${part}-pe`),
      subnet: { id: net.subnets.endpoints.id },
      privateLinkServiceConnections: [{ name: part, privateLinkServiceId: a.target, groupIds: [a.groupId] }],
      ipConfigurations: [{ name: `${part}-ip`, groupId: a.groupId, memberName: a.memberName, privateIPAddress: a.ip }],
      tags: roleTag("endpoint"),
    },
    ctx.opts(),
  );
  new network.PrivateDnsZoneGroup(
    ctx.name(`${part}-pe-dns`),
    { resourceGroupName: net.group.name, privateEndpointName: pe.name, privateDnsZoneGroupName: "default", privateDnsZoneConfigs: [{ name: part, privateDnsZoneId: a.zone.id }] },
    ctx.opts(),
  );
  return pe;
}

export function buildEndpoints(ctx: AzureContext, net: Network, recordAccountId: pulumi.Input<string>): Endpoints {
  const blobZone = privateZone(ctx, net, "blob", BLOB_PRIVATE_ZONE);
  const record = privateEndpoint(ctx, net, "record", { target: recordAccountId, groupId: "blob", memberName: "blob", ip: ctx.plan.recordIp, zone: blobZone });
  const accounts: Record<string, cognitiveservices.Account> = {};
  const all: pulumi.Resource[] = [record];
  for (const ep of ctx.plan.endpoints) {
    const def = AZURE_ENDPOINT_SERVICES[ep.service];
    const account = new cognitiveservices.Account(
      ctx.name(`${ep.service}-account`),
      {
        resourceGroupName: net.group.name,
        accountName: ep.subDomain,
        kind: def.accountKind,
        sku: { name: "S0" },
        properties: { customSubDomainName: ep.subDomain, publicNetworkAccess: "Disabled", disableLocalAuth: true, restrictOutboundNetworkAccess: true, networkAcls: { defaultAction: "Deny" } },
        tags: roleTag("endpoint"),
      },
      ctx.opts(),
    );
    const deployment = new cognitiveservices.Deployment(
      ctx.name(`${ep.service}-deployment`),
      { resourceGroupName: net.group.name, accountName: account.name, deploymentName: def.deployment.name, properties: { model: def.deployment.model }, sku: def.deployment.sku },
      ctx.opts(),
    );
    const zone = privateZone(ctx, net, ep.service, def.privateZone);
    all.push(privateEndpoint(ctx, net, ep.service, { target: account.id, groupId: def.groupId, memberName: "default", ip: ep.privateIp, zone }), deployment);
    accounts[ep.service] = account;
  }
  return { record, accounts, all };
}
