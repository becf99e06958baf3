// One service account per instance, with no project roles at all: only bucket-level grants on this
// sandbox's buckets (append to its own prefix of the record — an IAM condition on the object name —
// and, for the gate, read the artifacts) and, for the workload, the resource-level grant of each
// Google API the spec lists (services.ts). Instance scopes are the narrowest that let those grants
// work (instance.ts). Without an email, `serviceAccount` would attach the project's default compute
// service account (clouds.md §11): every instance names its own.
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import type { GcpContext } from "./context";
import { googleServiceOf } from "./services";
import { INSTANCE_LOG_PREFIX } from "./record";

export interface InstanceIdentity {
  account: gcp.serviceaccount.Account;
  email: pulumi.Output<string>;
  /** This instance's prefix in the record bucket (ends with '/'). */
  logPrefix: string;
}

export interface IdentityGrants {
  /** The record bucket, for instances that append to it (targets have no egress, so none). */
  logBucket?: pulumi.Input<string>;
  artifactsBucket?: pulumi.Input<string>;
  /** Spec `service` values of the Google APIs this identity calls. */
  services?: string[];
}

export const RECORD_WRITER_ROLE = "roles/storage.objectCreator";
export const ARTIFACTS_READER_ROLE = "roles/storage.objectViewer";

export function instanceIdentity(ctx: GcpContext, part: string, grants: IdentityGrants): InstanceIdentity {
  const logPrefix = `${INSTANCE_LOG_PREFIX}${part}/`;
  const account = new gcp.serviceaccount.Account(ctx.name(`${part}-sa`), { accountId: ctx.quietName(part.replace(/[^a-z0-9]/g, "").slice(0, 12)), displayName: `sandbox ${part}` }, ctx.opts());
  const member = pulumi.interpolate`serviceAccount:${account.email}`;
  if (grants.logBucket) new gcp.storage.BucketIAMMember(
    ctx.name(`${part}-record-append`),
    {
      bucket: grants.logBucket,
      role: RECORD_WRITER_ROLE,
      member,
      condition: { title: "own-prefix", description: "append under this instance's prefix only", expression: pulumi.interpolate`resource.name.startsWith("projects/_/buckets/${grants.logBucket}/objects/${logPrefix}")` },
    },
    ctx.opts(),
  );
  if (grants.artifactsBucket) new gcp.storage.BucketIAMMember(ctx.name(`${part}-artifacts-read`), { bucket: grants.artifactsBucket, role: ARTIFACTS_READER_ROLE, member }, ctx.opts());
  for (const service of grants.services ?? []) {
    const grant = googleServiceOf(service)!.def.grant(service, ctx.region);
    new gcp.vertex.AiEndpointIamMember(ctx.name(`${part}-${grant.kind}-${grant.resource}`.slice(0, 60)), { endpoint: grant.resource, location: ctx.region, project: ctx.project, role: grant.role, member }, ctx.opts());
  }
  return { account, email: account.email, logPrefix };
}
