// Identities and grants. Every VM gets its own user-assigned identity (managedidentity
// .UserAssignedIdentity; VM identity {type: "UserAssigned", userAssignedIdentities: [id]} is a string
// array in azure-native 3 — clouds.md §4). Grants are custom roles with their actions / data actions
// written out one by one (never a built-in role, whose contents a reader cannot check here, never a
// wildcard), assigned at the narrowest scope that has the resource: a container, an account, a VM.
// Custom roles can only be assignable at resource-group scope or above, so each role is defined on
// the group that holds its resource and assigned below it (authorization/roleDefinition.d.ts
// `assignableScopes`, roleAssignment.d.ts `scope`).
import * as pulumi from "@pulumi/pulumi";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as authorization from "@pulumi/azure-native/authorization";
import { shortHash } from "../naming";
import { AzureContext, armId } from "./context";

export interface MachineIdentity {
  uai: managedidentity.UserAssignedIdentity;
  /** Where this machine appends in the record container (ends with '/'). */
  logPrefix: string;
}

export const INSTANCE_LOG_PREFIX = "instances/";

/** A GUID derived from text: role definition and assignment names must be GUIDs, stable per sandbox. */
export function guidFor(text: string): string {
  const h = shortHash(text, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function userIdentity(ctx: AzureContext, group: pulumi.Input<string>, part: string): managedidentity.UserAssignedIdentity {
  return new managedidentity.UserAssignedIdentity(ctx.name(`${part}-id`), { resourceGroupName: group, resourceName: ctx.quietName(part) }, ctx.opts());
}

export function machineIdentity(ctx: AzureContext, group: pulumi.Input<string>, part: string): MachineIdentity {
  return { uai: userIdentity(ctx, group, part), logPrefix: `${INSTANCE_LOG_PREFIX}${part}/` };
}

export interface RoleSpec {
  /** Resource group the role is defined on (and assignable within). */
  group: string;
  description: string;
  actions?: string[];
  dataActions?: string[];
}

/** A custom role with exactly these permissions, assignable only within its group. */
export function customRole(ctx: AzureContext, part: string, r: RoleSpec, dependsOn: pulumi.Resource[] = []): authorization.RoleDefinition {
  const scope = ctx.subscriptionId.apply((sub) => armId(sub, r.group));
  return new authorization.RoleDefinition(
    ctx.name(`${part}-role`),
    {
      scope,
      roleDefinitionId: guidFor(`${ctx.identity.id}:role:${part}`),
      // Role names are unique per tenant.
      roleName: `${ctx.quietName(part)}-${shortHash(ctx.identity.id + part, 6)}`,
      description: r.description,
      roleType: "CustomRole",
      permissions: [{ actions: r.actions ?? [], dataActions: r.dataActions ?? [] }],
      assignableScopes: [scope],
    },
    ctx.opts({ dependsOn }),
  );
}

/** Assigns `role` to `principalId` on `scope` (one resource, a container, or the role's group). */
export function grant(ctx: AzureContext, part: string, a: { principalId: pulumi.Input<string>; role: authorization.RoleDefinition; scope: pulumi.Input<string> }): authorization.RoleAssignment {
  return new authorization.RoleAssignment(
    ctx.name(`${part}-grant`),
    { principalId: a.principalId, principalType: "ServicePrincipal", roleDefinitionId: a.role.id, scope: a.scope, roleAssignmentName: guidFor(`${ctx.identity.id}:grant:${part}`) },
    ctx.opts(),
  );
}
