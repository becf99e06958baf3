// The platform-enforced TTL. Azure has no maximum run duration for a VM (clouds.md §8/§11), so
// Airlock runs a reaper Azure-side — it does not depend on the operator's laptop, Pulumi, or anything
// inside the sandbox: a Consumption Logic App in the record group (outside the group it deletes),
// triggered every few minutes, which DELETEs the sandbox's resource group (every VM, disk, NIC,
// identity and endpoint in it) when
//   - the expiry (a workflow parameter, the same instant as the airlock:expires-at tag: the expiry
//     kept in the stack's state, components/expiry.ts, so a re-run does not move it) has passed, or
//   - any of the sandbox's VMs is powered off ("PowerState/stopped"): the in-guest timer
//     (../cloud/boot.ts) powers the machine off at the TTL, and Azure only stops a VM that shuts itself
//     down — the reaper turns that stop into a deletion, as instanceInitiatedShutdownBehavior
//     "terminate" does on AWS. (The kill switch deallocates — "PowerState/deallocated" — and is
//     left for forensics, as AWS's kill stops.)
// The reaper's identity holds one custom role on the sandbox group: delete the group, the delete
// action of every resource type in it (deleting a group needs delete on its contents — UNVERIFIED
// whether ARM checks them), and read VM instance views. The deadline is kept to within
// TTL_INTERVAL_MINUTES.
import * as pulumi from "@pulumi/pulumi";
import type * as resources from "@pulumi/azure-native/resources";
import type * as compute from "@pulumi/azure-native/compute";
import type * as logic from "@pulumi/azure-native/logic";
import type * as network from "@pulumi/azure-native/network";
import type { AzureContext } from "./context";
import { FLOW_LOG_GROUP, type RecordStore } from "./record";
import { customRole, grant, userIdentity } from "./identity";
import { armCall, armWorkflow, definition } from "./workflow";
import { COMPUTE_API } from "./killswitch";

export const RESOURCES_API = "2021-04-01";
export const NETWORK_API = "2024-05-01";
/** What the reaper may do outside the sandbox group: delete this sandbox's flow log (record.ts), nothing else. */
export const REAPER_FLOW_LOG_ACTIONS = ["Microsoft.Network/networkWatchers/flowLogs/delete"];
import { STOPPED, TTL_INTERVAL_MINUTES } from "./names";
export { TTL_INTERVAL_MINUTES };

/** What the reaper may do in the sandbox group: no wildcard, one delete per resource type it holds. */
export const REAPER_ACTIONS = [
  "Microsoft.Resources/subscriptions/resourceGroups/delete",
  "Microsoft.Compute/virtualMachines/instanceView/read",
  "Microsoft.Compute/virtualMachines/delete",
  "Microsoft.Compute/disks/delete",
  "Microsoft.Network/networkInterfaces/delete",
  "Microsoft.Network/virtualNetworks/delete",
  "Microsoft.Network/virtualNetworks/subnets/delete",
  "Microsoft.Network/networkSecurityGroups/delete",
  "Microsoft.Network/routeTables/delete",
  "Microsoft.Network/privateEndpoints/delete",
  "Microsoft.Network/publicIPAddresses/delete",
  "Microsoft.Network/privateDnsZones/delete",
  "Microsoft.Network/privateDnsZones/virtualNetworkLinks/delete",
  "Microsoft.Network/dnsResolverPolicies/delete",
  "Microsoft.Network/dnsResolverDomainLists/delete",
  "Microsoft.ManagedIdentity/userAssignedIdentities/delete",
  "Microsoft.CognitiveServices/accounts/delete",
  "Microsoft.Insights/scheduledQueryRules/delete",
  "Microsoft.Insights/actionGroups/delete",
  "Microsoft.Logic/workflows/delete",
];

/** `YYYY-MM-DDTHH:MM:SSZ` (what the tag says). */
export function expiryInstant(when: Date): string {
  return when.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function scheduleExpiry(ctx: AzureContext, a: { store: RecordStore; group: resources.ResourceGroup; machines: compute.VirtualMachine[]; flowLog: network.FlowLog }): logic.Workflow {
  const identity = userIdentity(ctx, a.store.group.name, "reaper");
  const role = customRole(ctx, "reaper", { group: ctx.sandboxGroup, description: "Delete the sandbox at expiry or when a machine powers off", actions: REAPER_ACTIONS }, [a.group]);
  const assignment = grant(ctx, "reaper", { principalId: identity.principalId, role, scope: a.group.id });
  // The flow log lives in NetworkWatcherRG (record.ts), outside the group it deletes: one delete, granted
  // on that one flow log, so the sandbox's flow log ends with the sandbox even if Pulumi never runs again.
  const flowRole = customRole(ctx, "reaper-flows", { group: FLOW_LOG_GROUP, description: "Delete the sandbox's flow log at expiry", actions: REAPER_FLOW_LOG_ACTIONS });
  const flowAssignment = grant(ctx, "reaper-flows", { principalId: identity.principalId, role: flowRole, scope: a.flowLog.id });
  const def = pulumi.all([identity.id, a.group.id, pulumi.all(a.machines.map((m) => m.id)), ctx.expiresAt, a.flowLog.id]).apply(([id, groupId, vms, expiresAt, flowLogId]) => {
    const reads = Object.fromEntries(vms.map((vm, i) => [`machine_${i}`, armCall(id, "GET", `${vm}/instanceView?api-version=${COMPUTE_API}`)]));
    const decide = {
      type: "If",
      // A machine already gone (404) must not stop the reaper: run after failures too.
      runAfter: Object.fromEntries(Object.keys(reads).map((k) => [k, ["Succeeded", "Failed"]])),
      expression: { or: [{ greaterOrEquals: ["@ticks(utcNow())", "@ticks(parameters('expiresAt'))"] }, ...Object.keys(reads).map((k) => ({ contains: [`@string(body('${k}'))`, STOPPED] }))] },
      // The flow log first (already gone is no reason to keep the sandbox: the group goes after either outcome).
      actions: {
        delete_flow_log: armCall(id, "DELETE", `${flowLogId}?api-version=${NETWORK_API}`),
        delete_sandbox: { ...armCall(id, "DELETE", `${groupId}?api-version=${RESOURCES_API}`), runAfter: { delete_flow_log: ["Succeeded", "Failed"] } },
      },
      else: { actions: {} },
    };
    return definition(
      { every_few_minutes: { type: "Recurrence", recurrence: { frequency: "Minute", interval: TTL_INTERVAL_MINUTES } } },
      { ...reads, decide },
      { expiresAt: { type: "String", defaultValue: expiryInstant(new Date(expiresAt)) } },
    );
  });
  return armWorkflow(ctx, "reaper", { group: a.store.group.name, identity, definition: def, dependsOn: [assignment, flowAssignment] });
}
