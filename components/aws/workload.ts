// The workload instance: the size and TEE the spec asks for, the bootstrap that plants the canary
// files, maps upstream names to the gate, and runs `workload.command` as the non-root
// `workload.user` (with `workload.pids` as its task limit).
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { AwsContext } from "./context";
import type { Network } from "./network";
import type { Firewall } from "./firewall";
import type { InstanceIdentity } from "./identity";
import { hardenedInstance } from "./instance";
import { awsInstanceType } from "./rules";
import { sizingViewOf } from "../spec/backend-rules";
import { renderWorkloadScript } from "../cloud/boot";
import { awsStoreAccess } from "./store-access";
import { workloadSetupOf } from "../cloud/boot";
import { vmGuardConfig } from "../cloud/guard";
import { awsPlatformPaths } from "./platform";
import { GiB } from "../spec/units";
import type { VmWorkloadArgs } from "../cloud/vm-args";

export interface WorkloadArgs extends VmWorkloadArgs<Network, InstanceIdentity> {
  fw: Firewall;
  /** The S3 gateway endpoint's ranges (its cidrBlocks): the only HTTPS the workload VM's system may reach (platform.ts). */
  s3Ranges: pulumi.Input<string[]>;
}

/** The TEE settings for the spec's `confidential` kind (validation refused every other kind). */
export function teeOptions(kind: string): { cpuOptions?: aws.types.input.ec2.InstanceCpuOptions; enclaveOptions?: aws.types.input.ec2.InstanceEnclaveOptions } {
  if (kind === "sev-snp") return { cpuOptions: { amdSevSnp: "enabled" } };
  if (kind === "nitro-enclave") return { enclaveOptions: { enabled: true } };
  return {};
}

export function buildWorkload(ctx: AwsContext, a: WorkloadArgs): aws.ec2.Instance {
  const { spec, plan } = ctx;
  const instanceType = awsInstanceType(sizingViewOf(spec)!)!;
  const hosts: Record<string, string[]> = plan.listeners.length ? { [plan.gateIp]: [...new Set(plan.listeners.flatMap((l) => l.aliases))] } : {};
  const userData = pulumi.all([a.logBucket, a.artifactsBucket, a.homeFiles, a.expiresAt ?? ctx.identity.expiresAt.toISOString(), a.s3Ranges]).apply(([logBucket, artifactsBucket, homeFiles, expiresAt, s3Ranges]) =>
    renderWorkloadScript({
      access: awsStoreAccess({ region: ctx.region, logBucket, logPrefix: a.identity.logPrefix, artifactsBucket }),
      setup: workloadSetupOf(spec, hosts, homeFiles),
      guard: vmGuardConfig(spec, { sandboxId: ctx.identity.id, expiresAt: new Date(expiresAt), gateIp: plan.gateIp, listeners: plan.listeners, platform: awsPlatformPaths(plan.vpcCidr, s3Ranges), planted: Object.keys(homeFiles) }),
    }),
  );
  return hardenedInstance(ctx, "workload", {
    role: "workload",
    ami: ctx.images.workload,
    amiIsLookup: spec.workload.image === undefined,
    instanceType,
    subnet: a.net.subnets.workload,
    securityGroup: a.fw.workload,
    identity: a.identity,
    userData,
    rootVolumeGiB: Math.max(8, Math.ceil(spec.workloadDiskBytes / GiB)),
    publicIp: spec.unsafe.allowPublicIp,
    ...teeOptions(spec.confidential),
    dependsOn: a.dependsOn,
  });
}
