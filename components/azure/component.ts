// AzureSandbox: the air-gapped sandbox on Azure, built from a SandboxSpec. This file only wires the
// parts together in dependency order; each part lives in the module of the same concept name as on
// AWS:
//   network.ts (resource group, VNet, subnets, routes) · firewall.ts (NSGs) · dns.ts (resolver
//   policy) · endpoints.ts (private endpoints, model account) · record.ts (locked record, flow logs,
//   sealer) · identity.ts (identities, custom roles) · instance.ts (the one hardened VM shape) ·
//   gate.ts · workload.ts · targets.ts · canaries.ts · killswitch.ts · ttl.ts (reaper) ·
//   artifacts.ts · workflow.ts (Azure-side actions) · taggable.ts (labels)
//   pure: rules.ts + buildable.ts · plan.ts · services.ts · store-access.ts · context.ts
import * as pulumi from "@pulumi/pulumi";
import * as azure from "@pulumi/azure-native/provider";
import * as authorization from "@pulumi/azure-native/authorization";
import type { SandboxComponentArgs } from "../sandbox-base";
import { VmSandboxBase, VmSandboxOpening } from "../cloud/vm-sandbox";
import { labelTransformation } from "../cloud/tags";
import { assertAzureBuildable } from "./buildable";
import { makeContext } from "./context";
import { planAzureSandbox } from "./plan";
import { isAzureTaggable } from "./taggable";
import { createFirewall } from "./firewall";
import { buildNetwork, createSandboxGroup } from "./network";
import { buildEndpoints } from "./endpoints";
import { buildDnsGuard } from "./dns";
import { CONTAINERS, createRecordStore, recordFlowLogs, sealRecordStore } from "./record";
import { customRole, grant, machineIdentity } from "./identity";
import { uploadArtifacts } from "./artifacts";
import { placeCanaries } from "./canaries";
import { buildTargets } from "./targets";
import { buildGate } from "./gate";
import { buildWorkload } from "./workload";
import { logWorkspace, wireKillSwitch } from "./killswitch";
import { scheduleExpiry } from "./ttl";
import { AZURE_ENDPOINT_SERVICES } from "./services";

export const AZURE_SANDBOX_TYPE = "airlock:azure:Sandbox";

/** Data actions of the record appender: create blobs (and blocks), nothing else — no read, no delete. */
export const APPEND_DATA_ACTIONS = ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action"];
export const READ_DATA_ACTIONS = ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"];

/** The opening (cloud/vm-sandbox.ts): the spec is checked before anything is registered. */
const AZURE_OPENING: VmSandboxOpening = {
  assertBuildable: assertAzureBuildable,
  labelStyle: "tags",
  labelTransformation: (labels) => labelTransformation(labels, isAzureTaggable, () => ["tags"]),
};

export class AzureSandbox extends VmSandboxBase {
  constructor(name: string, args: SandboxComponentArgs, opts?: pulumi.ComponentResourceOptions) {
    super(AZURE_SANDBOX_TYPE, name, args, AZURE_OPENING, opts);
    const { spec, identity } = args;
    // The reaper's deadline reads the kept expiry, so a second `up` does not move the deletion.
    const expiresAt = this.keptExpiresAt;
    // The sandbox's own provider: the location comes from the spec, never from ambient configuration.
    const provider = new azure.Provider(`${name}-azure`, { location: spec.region! }, { parent: this });
    const subscriptionId = authorization.getClientConfigOutput({ parent: this, provider }).subscriptionId;
    const ctx = makeContext({ spec, identity, expiresAt, plan: planAzureSandbox(spec, identity.id), subscriptionId, parent: this, provider });

    const store = createRecordStore(ctx);
    const group = createSandboxGroup(ctx);
    const fw = createFirewall(ctx, group);
    const net = buildNetwork(ctx, group, fw);
    const endpoints = buildEndpoints(ctx, net, store.account.id);
    const dns = buildDnsGuard(ctx, net);

    // Grants: append to the record container (workload, gate), read artifacts (gate; workload: its guard), call the
    // sandbox's model account (workload). Nothing else, for any machine.
    const workloadId = machineIdentity(ctx, group.name, "workload");
    const gateId = machineIdentity(ctx, group.name, "gate");
    const appender = customRole(ctx, "record-append", { group: ctx.recordGroup, description: "Append to the sandbox record", dataActions: APPEND_DATA_ACTIONS }, [store.group]);
    const reader = customRole(ctx, "artifact-read", { group: ctx.recordGroup, description: "Read the sandbox's artifacts", dataActions: READ_DATA_ACTIONS }, [store.group]);
    const grants = [
      grant(ctx, "workload-record", { principalId: workloadId.uai.principalId, role: appender, scope: store.containers.record.id }),
      grant(ctx, "gate-record", { principalId: gateId.uai.principalId, role: appender, scope: store.containers.record.id }),
      grant(ctx, "gate-artifacts", { principalId: gateId.uai.principalId, role: reader, scope: store.containers.artifacts.id }),
      // The workload installs its guest guard from the artifacts container.
      grant(ctx, "workload-artifacts", { principalId: workloadId.uai.principalId, role: reader, scope: store.containers.artifacts.id }),
    ];
    for (const [service, account] of Object.entries(endpoints.accounts)) {
      const role = customRole(ctx, `${service}-use`, { group: ctx.sandboxGroup, description: `Call the sandbox's ${service} model`, dataActions: [...AZURE_ENDPOINT_SERVICES[service].dataActions] }, [group]);
      grants.push(grant(ctx, `workload-${service}`, { principalId: workloadId.uai.principalId, role, scope: account.id }));
    }

    const artifacts = uploadArtifacts(ctx, store);
    const canaries = placeCanaries(ctx, store);
    const targets = buildTargets(ctx, { net, store });
    const gate = buildGate(ctx, { net, identity: gateId, store, dependsOn: [...artifacts, ...grants, ...endpoints.all, ...dns] });
    const workload = buildWorkload(ctx, { net, identity: workloadId, store, homeFiles: canaries.homeFiles, expiresAt, dependsOn: [gate, ...artifacts, ...grants, endpoints.record, ...dns] });

    const workspace = logWorkspace(ctx, store);
    wireKillSwitch(ctx, { group: group.name, store, canaries, workload, workspace });
    const flowLog = recordFlowLogs(ctx, store, net.vnet);
    scheduleExpiry(ctx, { store, group, machines: [workload, gate, ...targets], flowLog });
    sealRecordStore(ctx, store);

    this.publishOutputs({
      sandboxId: pulumi.output(identity.id),
      expiresAt,
      recordLocation: pulumi.output(`${store.blobEndpoint}${CONTAINERS.record}/`),
      gateEndpoints: pulumi.output(Object.fromEntries(ctx.plan.listeners.map((l) => [l.name, `${ctx.plan.gateIp}:${l.listenPort}`]))),
    });
  }
}
