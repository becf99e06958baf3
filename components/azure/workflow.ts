// The one way this backend runs an Azure-side action without a hand-written service: a Consumption
// Logic App (logic.Workflow) whose HTTP actions call Azure Resource Manager as a user-assigned
// identity (authentication type ManagedServiceIdentity). Used by the TTL (delete the sandbox group),
// the kill switch (deallocate the workload) and the record sealer (lock the immutability policies).
// Each workflow's identity holds one custom role with only the actions that workflow calls.
// Workflow inputs: logic/workflow.d.ts (definition: any, identity {type, userAssignedIdentities[]},
// state); the definition language is Azure's Workflow Definition Language 2016-06-01.
import * as pulumi from "@pulumi/pulumi";
import * as logic from "@pulumi/azure-native/logic";
import type * as managedidentity from "@pulumi/azure-native/managedidentity";
import type { AzureContext } from "./context";

export const ARM = "https://management.azure.com";
export const WDL_SCHEMA = "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#";

/**
 * An HTTP action calling ARM as `identityId`. Either may be an output: a definition built of plain
 * objects whose leaves are outputs reaches the engine leaf by leaf, so at a preview only the leaves
 * not known yet (a new identity's id) are unknown and the policy pack still reads every call
 * (docs/policy.md) — a definition built inside one `apply` over such an output is unknown whole.
 */
export function armCall(identityId: pulumi.Input<string>, method: "GET" | "POST" | "DELETE", path: pulumi.Input<string>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "Http",
    inputs: { method, uri: typeof path === "string" ? `${ARM}${path}` : pulumi.interpolate`${ARM}${path}`, authentication: { type: "ManagedServiceIdentity", identity: identityId, audience: `${ARM}/` }, ...extra },
  };
}

export function definition(triggers: Record<string, unknown>, actions: Record<string, unknown>, parameters: Record<string, unknown> = {}): Record<string, unknown> {
  return { $schema: WDL_SCHEMA, contentVersion: "1.0.0.0", parameters, triggers, actions, outputs: {} };
}

export function armWorkflow(
  ctx: AzureContext,
  part: string,
  a: { group: pulumi.Input<string>; identity: managedidentity.UserAssignedIdentity; definition: pulumi.Input<Record<string, unknown>>; dependsOn?: pulumi.Resource[]; retain?: boolean },
): logic.Workflow {
  return new logic.Workflow(
    ctx.name(part),
    { resourceGroupName: a.group, workflowName: ctx.quietName(part), state: "Enabled", identity: { type: "UserAssigned", userAssignedIdentities: [a.identity.id] }, definition: a.definition },
    ctx.opts({ dependsOn: a.dependsOn, retainOnDelete: a.retain }),
  );
}
