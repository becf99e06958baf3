// The egress gate: a small instance running Toxiproxy with one listener per allowed upstream (plus the
// workload's record listener). It is at once the allowlist (nothing else has a firewall allow out of
// the network) and the chaos injection point. Its admin API listens on loopback only.
import * as pulumi from "@pulumi/pulumi";
import type * as gcp from "@pulumi/gcp";
import type { GcpContext } from "./context";
import type { Network } from "./network";
import { GATE_NETWORK_TAG } from "./network";
import type { InstanceIdentity } from "./identity";
import { DEFAULT_IMAGE, hardenedInstance } from "./instance";
import { renderGateScript, TOXIPROXY_ADMIN_PORT } from "../cloud/boot";
import { gcpStoreAccess } from "./store-access";
import { ARTIFACT_FILES } from "../cloud/artifacts";
import { toxiproxyProxies } from "../cloud/gate";
import type { VmInstanceArgs } from "../cloud/vm-args";

export const GATE_MACHINE_TYPE = "e2-small";
/** Storage read/write only: the gate reads artifacts and appends its journal, nothing else. */
export const GATE_SCOPES = ["https://www.googleapis.com/auth/devstorage.read_write"];

export type GateArgs = VmInstanceArgs<Network, InstanceIdentity>;

export function buildGate(ctx: GcpContext, a: GateArgs): gcp.compute.Instance {
  const startupScript = pulumi.all([a.artifactsBucket, a.logBucket]).apply(([artifactsBucket, logBucket]) =>
    renderGateScript(gcpStoreAccess({ logBucket, logPrefix: a.identity.logPrefix, artifactsBucket }), { ttlSeconds: ctx.spec.ttlMs / 1000, toxiproxyKey: ARTIFACT_FILES.toxiproxy.key, proxies: toxiproxyProxies(ctx.plan.listeners), adminPort: TOXIPROXY_ADMIN_PORT }),
  );
  return hardenedInstance(ctx, "gate", {
    role: "gate",
    machineType: GATE_MACHINE_TYPE,
    image: DEFAULT_IMAGE,
    subnet: a.net.subnets.gate,
    networkIp: ctx.plan.gateIp,
    identity: a.identity,
    scopes: GATE_SCOPES,
    startupScript,
    networkTags: ctx.spec.unsafe.allowInternet && ctx.plan.publicAddresses.length > 0 ? [GATE_NETWORK_TAG] : undefined,
    dependsOn: a.dependsOn,
  });
}
