// What every Azure module needs: the spec, the sandbox identity, the plan, the two resource groups,
// and how to parent and name resources. Passed explicitly so each module is a plain function of its
// inputs.
//
// Two resource groups per sandbox:
//   sandbox group  everything that ends with the sandbox (network, machines, identities, endpoints,
//                  alerts); the TTL deletes this group, and the sweeper has one handle to find.
//   record group   the record account, its log workspace and the TTL/sealer workflows: a locked
//                  immutability policy makes a group deletion fail ("AccountProtectedFromDeletion",
//                  clouds.md §11), and the record must outlive the sandbox. Retained on destroy.
import * as pulumi from "@pulumi/pulumi";
import type { SandboxSpec } from "../spec/schema";
import { resourceName, SandboxIdentity, shortHash } from "../naming";
import type { AzurePlan } from "./plan";

export interface AzureContext {
  spec: SandboxSpec;
  identity: SandboxIdentity;
  /** The expiry kept in the stack's state (components/expiry.ts); `identity.expiresAt` is only this run's proposal. */
  expiresAt: pulumi.Output<string>;
  plan: AzurePlan;
  location: string;
  subscriptionId: pulumi.Output<string>;
  /** Resource group names (explicit, so that ids and ARM paths are known before creation). */
  sandboxGroup: string;
  recordGroup: string;
  /** Logical name `airlock-<id>-<part>`. */
  name(part: string, maxLength?: number): string;
  /**
   * A physical name for what the workload can see from inside (IMDS shows its resource group, VM
   * and identity names): neutral on purpose, no "airlock", no sandbox name — agents look for signs of
   * being evaluated. The labels, not the names, are how Airlock finds its resources.
   */
  quietName(part: string, maxLength?: number): string;
  opts(extra?: pulumi.CustomResourceOptions): pulumi.CustomResourceOptions;
  invokeOpts(): pulumi.InvokeOutputOptions;
}

export function makeContext(args: {
  spec: SandboxSpec;
  identity: SandboxIdentity;
  expiresAt: pulumi.Output<string>;
  plan: AzurePlan;
  subscriptionId: pulumi.Output<string>;
  parent: pulumi.ComponentResource;
  provider: pulumi.ProviderResource;
}): AzureContext {
  const { parent, provider } = args;
  const h = shortHash(args.identity.id, 10);
  return {
    spec: args.spec,
    identity: args.identity,
    expiresAt: args.expiresAt,
    plan: args.plan,
    location: args.spec.region!,
    subscriptionId: args.subscriptionId,
    sandboxGroup: `rg-${h}`,
    recordGroup: `rg-${h}-logs`,
    name: (part, maxLength = 63) => resourceName(args.identity, part, maxLength),
    quietName: (part, maxLength = 63) => `s${h}-${part}`.slice(0, maxLength),
    opts: (extra = {}) => ({ parent, provider, ...extra }),
    invokeOpts: () => ({ parent, provider }),
  };
}

/** An ARM resource id path, e.g. armId(sub, group, "Microsoft.Compute/virtualMachines", "vm1"). */
export function armId(subscriptionId: string, group: string, typePath?: string, name?: string): string {
  const rg = `/subscriptions/${subscriptionId}/resourceGroups/${group}`;
  return typePath && name ? `${rg}/providers/${typePath}/${name}` : rg;
}
