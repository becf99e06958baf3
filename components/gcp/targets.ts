// In-boundary targets (e.g. a vulnerable service a red-team eval attacks): one instance per spec
// target, at a fixed internal address, reachable from the gate only, with no egress at all. Their
// service accounts hold no grant and the instances no scope.
import type * as gcp from "@pulumi/gcp";
import type { GcpContext } from "./context";
import type { Network } from "./network";
import type { InstanceIdentity } from "./identity";
import { hardenedInstance } from "./instance";
import { renderTargetScript } from "../cloud/boot";

export const TARGET_MACHINE_TYPE = "e2-small";

export function buildTargets(ctx: GcpContext, a: { net: Network; identities: InstanceIdentity[] }): gcp.compute.Instance[] {
  return ctx.plan.targets.map((t, i) =>
    hardenedInstance(ctx, `target-${t.name}`, {
      role: "target",
      machineType: TARGET_MACHINE_TYPE,
      image: t.image!,
      subnet: a.net.subnets.targets,
      networkIp: t.privateIp,
      identity: a.identities[i],
      scopes: [],
      startupScript: renderTargetScript(ctx.spec.ttlMs / 1000),
    }),
  );
}
