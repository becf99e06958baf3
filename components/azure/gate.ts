// The egress gate: a small VM running Toxiproxy with one listener per allowed upstream. It is at once
// the allowlist (nothing else has an NSG allow towards an upstream) and the chaos injection point.
// Its admin API listens on loopback only.
import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";
import type * as compute from "@pulumi/azure-native/compute";
import type { AzureContext } from "./context";
import type { Network } from "./network";
import type { MachineIdentity } from "./identity";
import type { RecordStore } from "./record";
import { CONTAINERS } from "./record";
import { DEFAULT_IMAGE, hardenedVm } from "./instance";
import { renderGateScript } from "../cloud/boot";
import { azureStoreAccess } from "./store-access";
import { ARTIFACT_FILES } from "../cloud/artifacts";
import { toxiproxyProxies } from "../cloud/gate";

export const GATE_VM_SIZE = "Standard_D2as_v5";

export function buildGate(ctx: AzureContext, a: { net: Network; identity: MachineIdentity; store: RecordStore; dependsOn: pulumi.Resource[] }): compute.VirtualMachine {
  const proxies = toxiproxyProxies(ctx.plan.listeners);
  const bootScript = a.identity.uai.clientId.apply((clientId) =>
    renderGateScript(azureStoreAccess({ clientId, blobEndpoint: a.store.blobEndpoint, recordContainer: CONTAINERS.record, logPrefix: a.identity.logPrefix, artifactsContainer: CONTAINERS.artifacts }), {
      ttlSeconds: ctx.spec.ttlMs / 1000,
      toxiproxyKey: ARTIFACT_FILES.toxiproxy.key,
      proxies,
    }),
  );
  // The gate needs a public address only to reach public upstreams (unsafe.allowInternet).
  const publicIp =
    ctx.spec.unsafe.allowInternet && ctx.plan.publicAddresses.length > 0
      ? new network.PublicIPAddress(ctx.name("gate-pip"), { resourceGroupName: a.net.group.name, publicIPAllocationMethod: "Static", sku: { name: "Standard" } }, ctx.opts())
      : undefined;
  return hardenedVm(ctx, "gate", {
    role: "gate",
    size: GATE_VM_SIZE,
    image: DEFAULT_IMAGE,
    subnet: a.net.subnets.gate,
    privateIp: ctx.plan.gateIp,
    identity: a.identity.uai,
    bootScript,
    bootDiagnosticsUri: a.store.blobEndpoint,
    tee: "none",
    publicIp,
    dependsOn: [a.net.subnets.gate, ...a.dependsOn],
  });
}
