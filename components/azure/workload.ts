// The workload VM: the size and TEE the spec asks for (rules.ts picks or checks the size), the
// bootstrap that plants the canary files, maps upstream names to the gate, and runs
// `workload.command` as the non-root `workload.user` (with `workload.pids` as its task limit).
import * as pulumi from "@pulumi/pulumi";
import type * as compute from "@pulumi/azure-native/compute";
import type { AzureContext } from "./context";
import type { Network } from "./network";
import type { MachineIdentity } from "./identity";
import type { RecordStore } from "./record";
import { CONTAINERS } from "./record";
import { DEFAULT_CVM_IMAGE, DEFAULT_IMAGE, hardenedVm } from "./instance";
import { azureVmSize, teeOfSize } from "./rules";
import { sizingViewOf } from "../spec/backend-rules";
import { renderWorkloadScript } from "../cloud/boot";
import { azureStoreAccess } from "./store-access";
import { workloadSetupOf } from "../cloud/boot";
import { vmGuardConfig } from "../cloud/guard";
import { azurePlatformPaths } from "./platform";
import { GiB } from "../spec/units";

export function buildWorkload(ctx: AzureContext, a: { net: Network; identity: MachineIdentity; store: RecordStore; homeFiles: pulumi.Input<Record<string, string>>; expiresAt?: pulumi.Input<string>; dependsOn: pulumi.Resource[] }): compute.VirtualMachine {
  const { spec, plan } = ctx;
  const size = azureVmSize(sizingViewOf(spec)!)!;
  const tee = spec.confidential === "none" ? "none" : teeOfSize(size);
  const hosts: Record<string, string[]> = plan.listeners.length ? { [plan.gateIp]: [...new Set(plan.listeners.flatMap((l) => l.aliases))] } : {};
  const bootScript = pulumi.all([a.identity.uai.clientId, a.homeFiles, a.expiresAt ?? ctx.identity.expiresAt.toISOString()]).apply(([clientId, homeFiles, expiresAt]) =>
    renderWorkloadScript({
      access: azureStoreAccess({ clientId, blobEndpoint: a.store.blobEndpoint, recordContainer: CONTAINERS.record, logPrefix: a.identity.logPrefix, artifactsContainer: CONTAINERS.artifacts }),
      setup: workloadSetupOf(spec, hosts, homeFiles),
      guard: vmGuardConfig(spec, { sandboxId: ctx.identity.id, expiresAt: new Date(expiresAt), gateIp: plan.gateIp, listeners: plan.listeners, platform: azurePlatformPaths(plan.recordIp), planted: Object.keys(homeFiles) }),
    }),
  );
  return hardenedVm(ctx, "workload", {
    role: "workload",
    size,
    image: spec.workload.image ?? (tee === "none" ? DEFAULT_IMAGE : DEFAULT_CVM_IMAGE),
    subnet: a.net.subnets.workload,
    privateIp: plan.workloadIp,
    identity: a.identity.uai,
    bootScript,
    bootDiagnosticsUri: a.store.blobEndpoint,
    osDiskGiB: Math.max(30, Math.ceil(spec.workloadDiskBytes / GiB)),
    tee,
    dependsOn: [a.net.subnets.workload, ...a.dependsOn],
  });
}
