// In-boundary targets (e.g. a vulnerable web app a red-team eval attacks): one VM per spec target at
// its fixed private address, reachable from the gate only, with no egress at all, and an identity
// with no grants.
import type * as compute from "@pulumi/azure-native/compute";
import type { AzureContext } from "./context";
import type { Network } from "./network";
import type { RecordStore } from "./record";
import { machineIdentity } from "./identity";
import { hardenedVm } from "./instance";
import { renderTargetScript } from "../cloud/boot";

export const TARGET_VM_SIZE = "Standard_D2as_v5";

export function buildTargets(ctx: AzureContext, a: { net: Network; store: RecordStore }): compute.VirtualMachine[] {
  return ctx.plan.targets.map((t) =>
    hardenedVm(ctx, `target-${t.name}`, {
      role: "target",
      size: TARGET_VM_SIZE,
      image: t.image!,
      subnet: a.net.subnets.targets,
      privateIp: t.privateIp,
      identity: machineIdentity(ctx, a.net.group.name, `target-${t.name}`).uai,
      bootScript: renderTargetScript(ctx.spec.ttlMs / 1000),
      bootDiagnosticsUri: a.store.blobEndpoint,
      tee: "none",
      dependsOn: [a.net.subnets.targets],
    }),
  );
}
