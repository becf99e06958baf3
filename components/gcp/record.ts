// The record: a Cloud Storage bucket outside the boundary that no one can rewrite.
// - uniform bucket-level access (no object ACLs) and public-access prevention `enforced`;
// - a retention policy of the spec's days, **locked** (`isLocked: true`, irreversible: objects cannot
//   be deleted or replaced before they are that old, and the policy can never be shortened) for
//   lockMode compliance; unlocked for governance (removable by a bucket admin, like S3 governance);
// - Object Versioning only without a retention policy (lockMode none, the explicit opt-out): GCS
//   refuses versioning on a bucket with a retention policy, and a retained object cannot be replaced
//   anyway (there the retention is the "versioned" guarantee). An opted-out lock still keeps every
//   overwritten entry as a noncurrent version: opting out of the lock is not opting out of that;
// - an IP filter (`ipFilter`, @pulumi/gcp BucketIpFilter) that admits requests only from the sandbox
//   network (and Google's service agents, i.e. the log sink): the GCP form of "writes only through
//   the sandbox's endpoint". Reading the record later needs the operator to be exempt from the filter
//   or to change it (UNVERIFIED which IAM permission exempts: see docs/equivalence.md).
// - a log sink (unique writer identity, granted object creator on this bucket only) with the flow
//   logs of the sandbox's subnets, its firewall logs, and the audit logs of its resources. Sinks write
//   server-side, not through the VPC.
// Everything here is retained on `pulumi destroy`: a bucket with unexpired objects cannot be deleted
// (clouds.md §11), and the record must outlive the sandbox.
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { GcpContext, roleLabel } from "./context";

export const INSTANCE_LOG_PREFIX = "instances/";
export const SECONDS_PER_DAY = 86_400;

export interface RecordStore {
  bucket: gcp.storage.Bucket;
}

export function createRecordStore(ctx: GcpContext, network: gcp.compute.Network): RecordStore {
  const { logging } = ctx.spec;
  const retention = logging.lockMode === "none" ? undefined : { retentionPeriod: String(logging.retentionDays * SECONDS_PER_DAY), isLocked: logging.lockMode === "compliance" };
  const bucket = new gcp.storage.Bucket(
    ctx.name("record"),
    {
      name: ctx.quietName("logs", 63),
      location: ctx.region.toUpperCase(),
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      retentionPolicy: retention,
      versioning: retention ? undefined : { enabled: true },
      forceDestroy: false,
      ipFilter: { mode: "Enabled", allowAllServiceAgentAccess: true, vpcNetworkSources: [{ network: network.id, allowedIpCidrRanges: [ctx.plan.cidr] }] },
      labels: roleLabel("record"),
    },
    ctx.opts({ retainOnDelete: true }),
  );
  return { bucket };
}

/** The log filter of what belongs in the record: this sandbox's flows, firewall decisions and audit logs. */
export function recordFilter(a: { project: string; networkName: string; subnetNames: string[]; resourceNames: string[] }): string {
  const quoted = (xs: string[]) => xs.map((x) => `"${x}"`).join(" OR ");
  return [
    `(log_id("compute.googleapis.com/vpc_flows") AND resource.labels.subnetwork_name=(${quoted(a.subnetNames)}))`,
    `(log_id("compute.googleapis.com/firewall") AND jsonPayload.rule_details.reference:"network:${a.networkName}/")`,
    `(logName:"projects/${a.project}/logs/cloudaudit.googleapis.com" AND protoPayload.resourceName:(${quoted(a.resourceNames)}))`,
  ].join(" OR ");
}

export function sinkRecord(ctx: GcpContext, store: RecordStore, a: { network: gcp.compute.Network; subnets: gcp.compute.Subnetwork[]; resourceNames: pulumi.Input<string>[] }): gcp.logging.ProjectSink {
  const filter = pulumi
    .all([a.network.name, pulumi.all(a.subnets.map((s) => s.name)), pulumi.all(a.resourceNames)])
    .apply(([networkName, subnetNames, resourceNames]) => recordFilter({ project: ctx.project, networkName, subnetNames, resourceNames }));
  const sink = new gcp.logging.ProjectSink(
    ctx.name("record-sink"),
    { name: ctx.quietName("record-sink", 100), destination: pulumi.interpolate`storage.googleapis.com/${store.bucket.name}`, filter, uniqueWriterIdentity: true, description: `Record of sandbox ${ctx.identity.id}` },
    ctx.opts({ retainOnDelete: true }),
  );
  new gcp.storage.BucketIAMMember(ctx.name("record-sink-writer"), { bucket: store.bucket.name, role: "roles/storage.objectCreator", member: sink.writerIdentity }, ctx.opts({ retainOnDelete: true }));
  return sink;
}
