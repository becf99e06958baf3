// The workload instance: the size and TEE the spec asks for, a startup script that plants the canary
// files, maps upstream names to the gate, and runs `workload.command` as the non-root
// `workload.user` (with `workload.pids` as its task limit).
import * as pulumi from "@pulumi/pulumi";
import type * as gcp from "@pulumi/gcp";
import type { GcpContext } from "./context";
import type { Network } from "./network";
import type { InstanceIdentity } from "./identity";
import { DEFAULT_IMAGE, hardenedInstance, Tee } from "./instance";
import { GCE_CONFIDENTIAL_TYPE, gcpMachineType, SEV_SNP_CPU_PLATFORM } from "./rules";
import { sizingViewOf } from "../spec/backend-rules";
import { renderWorkloadScript } from "../cloud/boot";
import { gcpStoreAccess } from "./store-access";
import { workloadSetupOf } from "../cloud/boot";
import { vmGuardConfig } from "../cloud/guard";
import { gcpPlatformPaths } from "./platform";
import { GiB } from "../spec/units";
import type { VmWorkloadArgs } from "../cloud/vm-args";
import type { ConfidentialKind } from "../spec/schema";

/** The workload's scope: cloud-platform, so that IAM (its few resource-level grants) is the only limit. */
export const WORKLOAD_SCOPES = ["https://www.googleapis.com/auth/cloud-platform"];

/** The artifacts bucket is reached through the gate's record listener. */
export type WorkloadArgs = VmWorkloadArgs<Network, InstanceIdentity>;

/** The Confidential VM settings for the spec's kind (validation refused every other kind). */
export function teeSettings(kind: ConfidentialKind): Tee | undefined {
  if (kind !== "sev" && kind !== "sev-snp" && kind !== "tdx") return undefined;
  return {
    confidentialInstanceConfig: { enableConfidentialCompute: kind === "sev" ? true : undefined, confidentialInstanceType: GCE_CONFIDENTIAL_TYPE[kind] },
    ...(kind === "sev-snp" ? { minCpuPlatform: SEV_SNP_CPU_PLATFORM } : {}),
  };
}

export function buildWorkload(ctx: GcpContext, a: WorkloadArgs): gcp.compute.Instance {
  const { spec, plan } = ctx;
  const upstreams = plan.listeners.filter((l) => l.aliases.length);
  const hosts: Record<string, string[]> = upstreams.length ? { [plan.gateIp]: [...new Set(upstreams.flatMap((l) => l.aliases))] } : {};
  const storageVia = `${plan.gateIp}:${plan.recordListener.listenPort}`;
  const startupScript = pulumi.all([a.logBucket, a.artifactsBucket, a.homeFiles, a.expiresAt ?? ctx.identity.expiresAt.toISOString()]).apply(([logBucket, artifactsBucket, homeFiles, expiresAt]) =>
    renderWorkloadScript({
      access: gcpStoreAccess({ logBucket, logPrefix: a.identity.logPrefix, storageVia, artifactsBucket }),
      setup: workloadSetupOf(spec, hosts, homeFiles),
      guard: vmGuardConfig(spec, {
        sandboxId: ctx.identity.id,
        expiresAt: new Date(expiresAt),
        gateIp: plan.gateIp,
        listeners: upstreams,
        // Cloud Storage (the record, the guard's artifacts) is reached through the gate's record listener.
        platform: gcpPlatformPaths(plan.gateIp, plan.recordListener),
        planted: Object.keys(homeFiles),
      }),
    }),
  );
  return hardenedInstance(ctx, "workload", {
    role: "workload",
    machineType: gcpMachineType(sizingViewOf(spec)!)!,
    image: spec.workload.image ?? DEFAULT_IMAGE,
    subnet: a.net.subnets.workload,
    identity: a.identity,
    scopes: WORKLOAD_SCOPES,
    startupScript,
    diskGiB: Math.max(10, Math.ceil(spec.workloadDiskBytes / GiB)),
    tee: teeSettings(spec.confidential),
    dependsOn: a.dependsOn,
  });
}
