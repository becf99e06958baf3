// Detection and the kill switch (clouds.md §7/§11):
//   record account blob service --DiagnosticSetting (StorageRead/Write/Delete)--> Log Analytics
//   --ScheduledQueryRule (LogAlert, every minute)--> ActionGroup --> email to the owner, and — when the
//   kill switch has a `canary` rule and unsafe.canaryAlertOnly is not set — a Logic App receiver whose
//   workflow deallocates the workload VM (no hand-written service). The workflow's identity may only
//   deallocate that one VM. Two rules, as on AWS: any access to a canary blob; any request signed
//   with a (planted) account key.
// Inputs: monitor/diagnosticSetting.d.ts {resourceUri, workspaceId, logs[{category, enabled}]},
// monitor/scheduledQueryRule.d.ts {kind LogAlert, scopes, criteria.allOf[{query, timeAggregation,
// operator, threshold, failingPeriods}], actions.actionGroups}, monitor/actionGroup.d.ts
// {groupShortName, enabled, emailReceivers, logicAppReceivers[{name, resourceId, callbackUrl}]},
// logic/listWorkflowTriggerCallbackUrl.d.ts. Alert latency (ingestion + evaluation) is minutes, not
// seconds (UNVERIFIED exact figure).
import * as pulumi from "@pulumi/pulumi";
import * as monitor from "@pulumi/azure-native/monitor";
import * as logic from "@pulumi/azure-native/logic";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights";
import type * as compute from "@pulumi/azure-native/compute";
import type { AzureContext } from "./context";
import type { RecordStore } from "./record";
import { CONTAINERS } from "./record";
import type { CanaryPlan } from "./canaries";
import { customRole, grant, userIdentity } from "./identity";
import { armCall, armWorkflow, definition } from "./workflow";

export const COMPUTE_API = "2024-07-01";
export const KILL_TRIGGER = "manual";

export function killIsWired(ctx: AzureContext): boolean {
  return ctx.spec.killSwitch.rules.some((r) => r.on === "canary") && !ctx.spec.unsafe.canaryAlertOnly;
}

export function canaryQueries(account: string): { object: string; credential: string } {
  const base = `StorageBlobLogs | where AccountName == "${account}"`;
  return { object: `${base} | where Uri has "/${CONTAINERS.canaries}/"`, credential: `${base} | where AuthenticationType == "AccountKey"` };
}

function killWorkflow(ctx: AzureContext, group: pulumi.Input<string>, workload: compute.VirtualMachine): logic.Workflow {
  const identity = userIdentity(ctx, group, "kill");
  const role = customRole(ctx, "kill", { group: ctx.sandboxGroup, description: "Deallocate the sandbox workload", actions: ["Microsoft.Compute/virtualMachines/deallocate/action"] }, [workload]);
  const assignment = grant(ctx, "kill", { principalId: identity.principalId, role, scope: workload.id });
  const def = pulumi.all([identity.id, workload.id]).apply(([id, vm]) =>
    definition({ [KILL_TRIGGER]: { type: "Request", kind: "Http", inputs: { schema: {} } } }, { deallocate_workload: armCall(id, "POST", `${vm}/deallocate?api-version=${COMPUTE_API}`) }),
  );
  return armWorkflow(ctx, "kill", { group, identity, definition: def, dependsOn: [assignment] });
}

export function wireKillSwitch(ctx: AzureContext, a: { group: pulumi.Input<string>; store: RecordStore; canaries: CanaryPlan; workload: compute.VirtualMachine; workspace: operationalinsights.Workspace }): void {
  if (!ctx.spec.canaries.enabled) return;
  const diag = new monitor.DiagnosticSetting(
    ctx.name("canary-read-log"),
    {
      name: ctx.quietName("reads"),
      resourceUri: pulumi.interpolate`${a.store.account.id}/blobServices/default`,
      workspaceId: a.workspace.id,
      logs: ["StorageRead", "StorageWrite", "StorageDelete"].map((category) => ({ category, enabled: true })),
    },
    ctx.opts(),
  );
  const receivers: Record<string, unknown> = {};
  if (/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(ctx.spec.owner)) receivers.emailReceivers = [{ name: "owner", emailAddress: ctx.spec.owner, useCommonAlertSchema: true }];
  if (killIsWired(ctx)) {
    const kill = killWorkflow(ctx, a.group, a.workload);
    const callbackUrl = logic.listWorkflowTriggerCallbackUrlOutput({ resourceGroupName: ctx.sandboxGroup, workflowName: kill.name, triggerName: KILL_TRIGGER }, ctx.invokeOpts()).apply((r) => r.value);
    receivers.logicAppReceivers = [{ name: "stop-workload", resourceId: kill.id, callbackUrl, useCommonAlertSchema: true }];
  }
  const group = new monitor.ActionGroup(ctx.name("alerts"), { resourceGroupName: a.group, actionGroupName: ctx.quietName("alerts"), groupShortName: "alerts", enabled: true, location: "Global", ...receivers }, ctx.opts({ dependsOn: [a.workload] }));
  const queries = canaryQueries(ctx.plan.recordAccount);
  const kinds: [string, string][] = [["object", queries.object], ...(a.canaries.credential ? [["credential", queries.credential] as [string, string]] : [])];
  for (const [kind, query] of kinds) {
    new monitor.ScheduledQueryRule(
      ctx.name(`canary-${kind}-alert`),
      {
        resourceGroupName: a.group,
        ruleName: ctx.quietName(`${kind}-alert`),
        kind: "LogAlert",
        enabled: true,
        severity: 0,
        scopes: [a.workspace.id],
        evaluationFrequency: "PT1M",
        windowSize: "PT5M",
        autoMitigate: false,
        criteria: { allOf: [{ query, timeAggregation: "Count", operator: "GreaterThan", threshold: 0, failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 } }] },
        actions: { actionGroups: [group.id] },
      },
      ctx.opts({ dependsOn: [diag] }),
    );
  }
}

/** The workspace the detections query (in the record group: the read log is evidence). */
export function logWorkspace(ctx: AzureContext, store: RecordStore): operationalinsights.Workspace {
  return new operationalinsights.Workspace(
    ctx.name("logs"),
    { resourceGroupName: store.group.name, workspaceName: ctx.quietName("logs"), sku: { name: "PerGB2018" }, retentionInDays: Math.min(730, Math.max(30, ctx.spec.logging.retentionDays)) },
    ctx.opts(),
  );
}
