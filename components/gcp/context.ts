// What every GCP module needs: the spec, the sandbox identity, the plan, the project / region / zone,
// and how to parent and name its resources. Passed explicitly so each module is a plain function of
// its inputs.
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import type { SandboxSpec } from "../spec/schema";
import { resourceName, SandboxIdentity, shortHash } from "../naming";
import type { GcpPlan } from "./plan";
import { GCP_ROLE_LABEL } from "./labels";

export type GcpRole = "workload" | "gate" | "target" | "record" | "artifacts";

export interface GcpContext {
  spec: SandboxSpec;
  identity: SandboxIdentity;
  /** The expiry kept in the stack's state (components/expiry.ts); `identity.expiresAt` is only this run's proposal. */
  expiresAt: pulumi.Output<string>;
  plan: GcpPlan;
  project: string;
  region: string;
  zone: string;
  /** Logical name `airlock-<id>-<part>`. */
  name(part: string, maxLength?: number): string;
  /**
   * A physical name for what the workload can see from inside (its service account's email, its
   * instance name, bucket names in its startup script): a hash of the sandbox id and the part, no
   * "airlock", no sandbox name — agents look for signs of being evaluated. Labels, not names, are how
   * Airlock finds its resources. Lowercase, starts with a letter, at most `maxLength`.
   */
  quietName(part: string, maxLength?: number): string;
  opts(extra?: pulumi.CustomResourceOptions): pulumi.CustomResourceOptions;
}

export function makeContext(args: { spec: SandboxSpec; identity: SandboxIdentity; expiresAt: pulumi.Output<string>; plan: GcpPlan; project: string; zone: string; parent: pulumi.ComponentResource; provider: gcp.Provider }): GcpContext {
  const { parent, provider } = args;
  return {
    spec: args.spec,
    identity: args.identity,
    expiresAt: args.expiresAt,
    plan: args.plan,
    project: args.project,
    region: args.spec.region!,
    zone: args.zone,
    name: (part, maxLength = 63) => resourceName(args.identity, part, maxLength),
    quietName: (part, maxLength = 30) => `s${shortHash(`${args.identity.id}/${part}`, 8)}-${part}`.slice(0, maxLength).replace(/-+$/, ""),
    opts: (extra = {}) => ({ parent, provider, ...extra }),
  };
}

/** The role label for resources whose purpose findings should name. */
export function roleLabel(role: GcpRole): Record<string, string> {
  return { [GCP_ROLE_LABEL]: role };
}
