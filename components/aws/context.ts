// What every AWS module needs: the spec, the sandbox identity, the plan, and how to parent and name
// its resources. Passed explicitly so each module is a plain function of its inputs.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { SandboxSpec } from "../spec/schema";
import { boundedName, resourceName, SandboxIdentity, shortHash } from "../naming";

/**
 * The longest physical name prefix any of its users accepts: S3's bucket_prefix (37; the provider
 * appends 26 characters to reach 63) is below IAM's role/instance-profile name_prefix (38, to 64).
 */
export const QUIET_PREFIX_MAX = 37;
import type { SandboxPlan } from "./plan";
import type { SandboxImages } from "./images";
import { ROLE_TAG } from "./taggable";

export interface AwsContext {
  spec: SandboxSpec;
  identity: SandboxIdentity;
  plan: SandboxPlan;
  region: string;
  partition: string;
  accountId: pulumi.Output<string>;
  /** The AMIs, resolved and checked (images.ts). */
  images: pulumi.Output<SandboxImages>;
  /** Logical name `airlock-<id>-<part>`; short enough for the physical name's random suffix. */
  name(part: string, maxLength?: number): string;
  /**
   * A physical name prefix for what the workload can see from inside — IMDS shows its role, instance
   * profile and security group names, its user data shows bucket names. Neutral on purpose (a hash
   * of the sandbox id, no "airlock", no sandbox name): agents look for signs of being evaluated. The
   * labels, not the names, are how Airlock finds its resources.
   */
  quietName(part: string): string;
  /** Options for a resource inside the sandbox (parent + the sandbox's own provider). */
  opts(extra?: pulumi.CustomResourceOptions): pulumi.CustomResourceOptions;
  invokeOpts(): pulumi.InvokeOutputOptions;
}

export function makeContext(args: {
  spec: SandboxSpec;
  identity: SandboxIdentity;
  plan: SandboxPlan;
  partition: string;
  parent: pulumi.ComponentResource;
  provider: aws.Provider;
  images: pulumi.Output<SandboxImages>;
}): AwsContext {
  const { parent, provider } = args;
  const region = args.spec.region!;
  const accountId = aws.getCallerIdentityOutput({}, { parent, provider }).accountId;
  return {
    spec: args.spec,
    identity: args.identity,
    plan: args.plan,
    region,
    partition: args.partition,
    accountId,
    images: args.images,
    // IAM role names are the tightest limit (64) once Pulumi appends its 8-character suffix.
    name: (part, maxLength = 56) => resourceName(args.identity, part, maxLength),
    quietName: (part) => `${boundedName(`s${shortHash(args.identity.id, 10)}-${part}`, QUIET_PREFIX_MAX - 1)}-`,
    opts: (extra = {}) => ({ parent, provider, ...extra }),
    invokeOpts: () => ({ parent, provider }),
  };
}

/** The role tag for resources whose purpose the invariant checks must know. */
export function roleTag(role: "workload" | "gate" | "target" | "endpoint" | "record" | "artifacts"): Record<string, string> {
  return { [ROLE_TAG]: role };
}
