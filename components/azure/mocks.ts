// Mock provider answers for @pulumi/azure-native: ARM-shaped resource ids built from the explicit
// names the sandbox sets (so references between resources — a subnet's NSG id, a role assignment's
// scope, a workflow's ARM path — resolve inside the graph), the few computed outputs the component
// reads (identity principal/client ids, the storage blob endpoint) and the two provider functions it
// calls. Deterministic (hashes of type + name).
import { shortHash } from "../naming";
import type { CloudMocks } from "../invariants/mock-types";

export const MOCK_SUBSCRIPTION = "00000000-0000-4000-a000-000000000001";
export const MOCK_TENANT = "00000000-0000-4000-a000-000000000002";

/** Input field holding the physical name, per type (else the logical name). */
const NAME_FIELD: Record<string, string> = {
  "resources:ResourceGroup": "resourceGroupName",
  "network:VirtualNetwork": "virtualNetworkName",
  "network:Subnet": "subnetName",
  "network:NetworkSecurityGroup": "networkSecurityGroupName",
  "network:RouteTable": "routeTableName",
  "network:NetworkInterface": "networkInterfaceName",
  "network:PrivateEndpoint": "privateEndpointName",
  "network:PrivateDnsZoneGroup": "privateDnsZoneGroupName",
  "network:FlowLog": "flowLogName",
  "network:PublicIPAddress": "publicIpAddressName",
  "privatedns:PrivateZone": "privateZoneName",
  "privatedns:VirtualNetworkLink": "virtualNetworkLinkName",
  "storage:StorageAccount": "accountName",
  "storage:BlobServiceProperties": "blobServicesName",
  "storage:BlobContainer": "containerName",
  "storage:BlobContainerImmutabilityPolicy": "immutabilityPolicyName",
  "storage:Blob": "blobName",
  "compute:VirtualMachine": "vmName",
  "managedidentity:UserAssignedIdentity": "resourceName",
  "authorization:RoleDefinition": "roleDefinitionId",
  "authorization:RoleAssignment": "roleAssignmentName",
  "logic:Workflow": "workflowName",
  "monitor:ScheduledQueryRule": "ruleName",
  "monitor:ActionGroup": "actionGroupName",
  "monitor:DiagnosticSetting": "name",
  "operationalinsights:Workspace": "workspaceName",
  "cognitiveservices:Account": "accountName",
  "cognitiveservices:Deployment": "deploymentName",
  "dnsresolver:DnsResolverPolicy": "dnsResolverPolicyName",
  "dnsresolver:DnsResolverDomainList": "dnsResolverDomainListName",
  "dnsresolver:DnsSecurityRule": "dnsSecurityRuleName",
  "dnsresolver:DnsResolverPolicyVirtualNetworkLink": "dnsResolverPolicyVirtualNetworkLinkName",
};

const NAMESPACE: Record<string, string> = {
  network: "Microsoft.Network",
  privatedns: "Microsoft.Network",
  dnsresolver: "Microsoft.Network",
  storage: "Microsoft.Storage",
  compute: "Microsoft.Compute",
  managedidentity: "Microsoft.ManagedIdentity",
  logic: "Microsoft.Logic",
  monitor: "Microsoft.Insights",
  operationalinsights: "Microsoft.OperationalInsights",
  cognitiveservices: "Microsoft.CognitiveServices",
};

const lowerFirst = (s: string) => s[0].toLowerCase() + s.slice(1);

/** The id path below `/subscriptions/<sub>/resourceGroups/<rg>/providers/` (or a full id for extension resources). */
function idOf(key: string, name: string, i: Record<string, any>, sub: string): string {
  const rg = `/subscriptions/${sub}/resourceGroups/${i.resourceGroupName}`;
  const [module, resource] = key.split(":");
  switch (key) {
    case "resources:ResourceGroup":
      return `/subscriptions/${sub}/resourceGroups/${name}`;
    case "network:Subnet":
      return `${rg}/providers/Microsoft.Network/virtualNetworks/${i.virtualNetworkName}/subnets/${name}`;
    case "network:PrivateDnsZoneGroup":
      return `${rg}/providers/Microsoft.Network/privateEndpoints/${i.privateEndpointName}/privateDnsZoneGroups/${name}`;
    case "network:FlowLog":
      return `${rg}/providers/Microsoft.Network/networkWatchers/${i.networkWatcherName}/flowLogs/${name}`;
    case "privatedns:PrivateZone":
      return `${rg}/providers/Microsoft.Network/privateDnsZones/${name}`;
    case "privatedns:VirtualNetworkLink":
      return `${rg}/providers/Microsoft.Network/privateDnsZones/${i.privateZoneName}/virtualNetworkLinks/${name}`;
    case "storage:BlobServiceProperties":
      return `${rg}/providers/Microsoft.Storage/storageAccounts/${i.accountName}/blobServices/${name}`;
    case "storage:BlobContainer":
      return `${rg}/providers/Microsoft.Storage/storageAccounts/${i.accountName}/blobServices/default/containers/${name}`;
    case "storage:BlobContainerImmutabilityPolicy":
      return `${rg}/providers/Microsoft.Storage/storageAccounts/${i.accountName}/blobServices/default/containers/${i.containerName}/immutabilityPolicies/${name}`;
    case "storage:Blob":
      return `https://${i.accountName}.blob.core.windows.net/${i.containerName}/${name}`;
    case "authorization:RoleDefinition":
      return `${i.scope}/providers/Microsoft.Authorization/roleDefinitions/${name}`;
    case "authorization:RoleAssignment":
      return `${i.scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
    case "monitor:DiagnosticSetting":
      return `${i.resourceUri}/providers/Microsoft.Insights/diagnosticSettings/${name}`;
    case "cognitiveservices:Deployment":
      return `${rg}/providers/Microsoft.CognitiveServices/accounts/${i.accountName}/deployments/${name}`;
    case "dnsresolver:DnsSecurityRule":
      return `${rg}/providers/Microsoft.Network/dnsResolverPolicies/${i.dnsResolverPolicyName}/dnsSecurityRules/${name}`;
    case "dnsresolver:DnsResolverPolicyVirtualNetworkLink":
      return `${rg}/providers/Microsoft.Network/dnsResolverPolicies/${i.dnsResolverPolicyName}/virtualNetworkLinks/${name}`;
    default:
      return `${rg}/providers/${NAMESPACE[module] ?? `Microsoft.${module}`}/${lowerFirst(resource)}s/${name}`;
  }
}

/** A GUID-shaped mock value. */
const guid = (seed: string) => {
  const h = shortHash(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

export const azureMocks: CloudMocks = {
  handles: (type) => type.startsWith("azure-native:") || type === "pulumi:providers:azure-native",

  newResource(type, logicalName, inputs) {
    if (type === "pulumi:providers:azure-native") return { id: `${logicalName}-provider`, state: inputs };
    const key = type.split(":").slice(1).join(":");
    const name = String(inputs[NAME_FIELD[key]] ?? logicalName);
    const id = idOf(key, name, inputs, MOCK_SUBSCRIPTION);
    const state: Record<string, any> = { ...inputs, name, id };
    switch (key) {
      case "managedidentity:UserAssignedIdentity":
        state.principalId = guid(`${logicalName}:principal`);
        state.clientId = guid(`${logicalName}:client`);
        state.tenantId = MOCK_TENANT;
        break;
      case "storage:StorageAccount":
        state.primaryEndpoints = { blob: `https://${name}.blob.core.windows.net/` };
        break;
      case "cognitiveservices:Account":
        state.properties = { ...(inputs.properties ?? {}), endpoint: `https://${inputs.properties?.customSubDomainName ?? name}.openai.azure.com/` };
        break;
      case "storage:BlobContainerImmutabilityPolicy":
        state.etag = `"${shortHash(logicalName, 16)}"`;
        state.state = "Unlocked";
        break;
    }
    return { id, state };
  },

  call(token, inputs) {
    switch (token) {
      case "azure-native:authorization:getClientConfig":
        return { subscriptionId: MOCK_SUBSCRIPTION, tenantId: MOCK_TENANT, clientId: guid("airlock-check:client"), objectId: guid("airlock-check:object") };
      case "azure-native:logic:listWorkflowTriggerCallbackUrl":
        return { value: `https://prod-00.logic.azure.com/workflows/${shortHash(String(inputs.workflowName), 16)}/triggers/${inputs.triggerName}/paths/invoke?sig=mock`, method: "POST" };
      default:
        return undefined;
    }
  },
};
