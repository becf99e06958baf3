// The record: a storage account in its own resource group (outside the sandbox's, retained on
// destroy — a locked policy makes group deletion fail, clouds.md §11), reached only through a
// private endpoint in the boundary (endpoints.ts), with (storage/storageAccount.d.ts):
//   publicNetworkAccess Disabled, networkRuleSet defaultAction Deny (bypass AzureServices, so the
//   flow-log service can deliver), allowBlobPublicAccess false, allowSharedKeyAccess false (Entra
//   tokens only), minimumTlsVersion TLS1_2, HTTPS only; blob versioning on
//   (storage/blobServiceProperties.d.ts `isVersioningEnabled`).
// Containers: `record` (machines append under instances/<machine>/), the flow-log container
// (`insights-logs-flowlogflowevent`, the name Network Watcher writes to, created here so that it
// carries a policy from the start), `canaries` (canaries.ts) and `artifacts` (what the gate installs).
//
// Immutability: a container-level time-based policy of the spec's retention on `record` and on the
// flow-log container (storage/blobContainerImmutabilityPolicy.d.ts), and on `canaries` and
// `artifacts` too (what the gate installs and the bait the alerts compare against must not be
// alterable after the fact, as S3 Object Lock / a locked GCS retention keep them): those two are
// created with version-level immutability (BlobContainer `immutableStorageWithVersioning.enabled`,
// settable only at creation; the account has versioning on), so a re-deploy with a new artifact
// writes a new version and every earlier version stays protected — a container-level policy alone
// would refuse the overwrite until the retention ends. The SDK has no lock input —
// locking is a POST with the policy's ETag (clouds.md §11) — so with lockMode compliance a sealer
// workflow (workflow.ts) locks every policy within minutes of creation, Azure-side, as an identity
// that may only read and lock immutability policies on this account. A locked policy is
// irreversible: the closest Azure has to S3 Object Lock in compliance mode. lockMode governance
// leaves the policies unlocked (a privileged principal could still shorten or delete them).
import * as pulumi from "@pulumi/pulumi";
import * as resources from "@pulumi/azure-native/resources";
import * as storage from "@pulumi/azure-native/storage";
import * as network from "@pulumi/azure-native/network";
import { AzureContext } from "./context";
import { roleTag } from "./taggable";
import { armCall, armWorkflow, definition } from "./workflow";
import { customRole, grant, userIdentity } from "./identity";

import { CONTAINERS, SEAL_INTERVAL_MINUTES } from "./names";
export { CONTAINERS, SEAL_INTERVAL_MINUTES };
export const STORAGE_API = "2023-05-01";
/** Containers under a time-based immutability policy of the spec's retention (locked by the sealer in compliance mode). */
export const WORM_CONTAINERS = ["record", "flowLogs", "canaries", "artifacts"] as const;
/** Of those, the ones Pulumi writes again on a re-deploy: version-level immutability (each version kept). */
const WORM_BY_VERSION: readonly string[] = ["canaries", "artifacts"];

export interface RecordStore {
  group: resources.ResourceGroup;
  account: storage.StorageAccount;
  containers: Record<keyof typeof CONTAINERS, storage.BlobContainer>;
  policies: storage.BlobContainerImmutabilityPolicy[];
  /** https://<account>.blob.core.windows.net/ */
  blobEndpoint: string;
}

export function createRecordStore(ctx: AzureContext): RecordStore {
  const keep = ctx.opts({ retainOnDelete: true });
  const group = new resources.ResourceGroup(ctx.name("record-rg"), { resourceGroupName: ctx.recordGroup, location: ctx.location }, keep);
  const account = new storage.StorageAccount(
    ctx.name("record"),
    {
      resourceGroupName: group.name,
      accountName: ctx.plan.recordAccount,
      kind: "StorageV2",
      sku: { name: "Standard_LRS" },
      publicNetworkAccess: "Disabled",
      networkRuleSet: { defaultAction: "Deny", bypass: "AzureServices" },
      allowBlobPublicAccess: false,
      allowSharedKeyAccess: false,
      defaultToOAuthAuthentication: true,
      allowCrossTenantReplication: false,
      isLocalUserEnabled: false,
      isSftpEnabled: false,
      minimumTlsVersion: "TLS1_2",
      enableHttpsTrafficOnly: true,
      tags: roleTag("record"),
    },
    keep,
  );
  const service = new storage.BlobServiceProperties(
    ctx.name("record-blob-service"),
    { resourceGroupName: group.name, accountName: account.name, blobServicesName: "default", isVersioningEnabled: true },
    keep,
  );
  const containers = {} as RecordStore["containers"];
  for (const [key, name] of Object.entries(CONTAINERS) as [keyof typeof CONTAINERS, string][]) {
    const versioned = WORM_BY_VERSION.includes(key) && ctx.spec.logging.lockMode !== "none";
    containers[key] = new storage.BlobContainer(
      ctx.name(`record-${key}`),
      { resourceGroupName: group.name, accountName: account.name, containerName: name, publicAccess: "None", ...(versioned ? { immutableStorageWithVersioning: { enabled: true } } : {}) },
      { ...keep, dependsOn: [service] },
    );
  }
  const policies: storage.BlobContainerImmutabilityPolicy[] = [];
  if (ctx.spec.logging.lockMode !== "none") {
    for (const key of WORM_CONTAINERS) {
      policies.push(
        new storage.BlobContainerImmutabilityPolicy(
          ctx.name(`record-${key}-worm`),
          {
            resourceGroupName: group.name,
            accountName: account.name,
            containerName: containers[key].name,
            immutabilityPolicyName: "default",
            immutabilityPeriodSinceCreationInDays: ctx.spec.logging.retentionDays,
            // Flow logs append blocks to hourly block blobs; the record's machines write new blobs.
            ...(key === "flowLogs" ? { allowProtectedAppendWritesAll: true } : { allowProtectedAppendWrites: false }),
          },
          // Destroying a policy fails with "incorrect etag" (PZ #2156), and a locked one cannot go.
          keep,
        ),
      );
    }
  }
  return { group, account, containers, policies, blobEndpoint: `https://${ctx.plan.recordHost}/` };
}

/** Container id paths of the policies, for the sealer's ARM calls (from names: known at a preview). */
function policyPaths(ctx: AzureContext): pulumi.Output<string>[] {
  return WORM_CONTAINERS.map((k) => ctx.subscriptionId.apply((sub) => `/subscriptions/${sub}/resourceGroups/${ctx.recordGroup}/providers/Microsoft.Storage/storageAccounts/${ctx.plan.recordAccount}/blobServices/default/containers/${CONTAINERS[k as keyof typeof CONTAINERS]}/immutabilityPolicies/default`));
}

/** lockMode compliance: the workflow that locks every policy (and keeps trying until they are). */
export function sealRecordStore(ctx: AzureContext, store: RecordStore): void {
  if (ctx.spec.logging.lockMode !== "compliance") return;
  const identity = userIdentity(ctx, store.group.name, "sealer");
  const role = customRole(
    ctx,
    "sealer",
    {
      group: ctx.recordGroup,
      description: "Lock the record's immutability policies",
      actions: ["Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/read", "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/lock/action"],
    },
    [store.group],
  );
  const assignment = grant(ctx, "sealer", { principalId: identity.principalId, role, scope: store.account.id });
  // Plain objects with the identity's id (unknown at a first preview) as a leaf, not one apply over
  // it: so a preview's policy pack reads the calls and the lock they make (workflow.ts armCall).
  const actions: Record<string, unknown> = {};
  policyPaths(ctx).forEach((path, i) => {
    actions[`read_${i}`] = armCall(identity.id, "GET", pulumi.interpolate`${path}?api-version=${STORAGE_API}`);
    actions[`lock_${i}`] = {
      type: "If",
      runAfter: { [`read_${i}`]: ["Succeeded"] },
      expression: { and: [{ equals: [`@body('read_${i}')?['properties']?['state']`, "Unlocked"] }] },
      actions: { [`post_lock_${i}`]: armCall(identity.id, "POST", pulumi.interpolate`${path}/lock?api-version=${STORAGE_API}`, { headers: { "If-Match": `@{body('read_${i}')?['etag']}` } }) },
      else: { actions: {} },
    };
  });
  const def = definition({ every_few_minutes: { type: "Recurrence", recurrence: { frequency: "Minute", interval: SEAL_INTERVAL_MINUTES } } }, actions);
  armWorkflow(ctx, "sealer", { group: store.group.name, identity, definition: def, dependsOn: [assignment, ...store.policies] });
}

/** Where Azure keeps the region's Network Watcher, and so every flow log of it. */
export const FLOW_LOG_GROUP = "NetworkWatcherRG";

/**
 * VNet flow logs (all traffic) into the record (clouds.md §6/§11: NSG flow logs are no longer accepted).
 *
 * Placement: a flow log is a child of the region's Network Watcher, which Azure creates once per
 * region per subscription as NetworkWatcher_<region> in NetworkWatcherRG — referenced, never created
 * (a second fails: NetworkWatcherCountLimitReached), and not the sandbox's to own or delete. So the
 * flow log cannot sit in the sandbox's group; it is the sandbox's in every other way: named from the
 * sandbox id (quietName), carrying the sandbox's three tags (the label transformation: the sweeper
 * finds it), not retained (`pulumi destroy` deletes it), and deleted by the reaper at the expiry
 * before the sandbox group (ttl.ts: one delete, granted on this flow log only), so it does not
 * outlive the sandbox when nobody runs Pulumi again. What it wrote stays in the record.
 */
export function recordFlowLogs(ctx: AzureContext, store: RecordStore, vnet: network.VirtualNetwork): network.FlowLog {
  return new network.FlowLog(
    ctx.name("flow-log"),
    {
      resourceGroupName: FLOW_LOG_GROUP,
      networkWatcherName: `NetworkWatcher_${ctx.location}`,
      flowLogName: ctx.quietName("flows"),
      targetResourceId: vnet.id,
      storageId: store.account.id,
      enabled: true,
      format: { type: "JSON", version: 2 },
      retentionPolicy: { enabled: true, days: ctx.spec.logging.retentionDays },
    },
    ctx.opts({ dependsOn: [store.containers.flowLogs, ...store.policies] }),
  );
}
