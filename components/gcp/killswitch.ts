// Alerts and the kill switch for canaries.
//
// Detection is a Cloud Logging filter (canaryFilter): a Data Access audit entry on a canary object,
// or any audit entry whose caller is the canary service account.
// Alert: a log-match alert policy (`conditionMatchedLog`, which needs
// `alertStrategy.notificationRateLimit` — clouds.md §7) per detection.
// Kill (when the kill switch has a `canary` rule and `unsafe.canaryAlertOnly` is off): a log sink with
// the same filter publishes to a Pub/Sub topic; an Eventarc trigger on that topic runs a Workflow that
// calls `compute.instances.stop` on the workload. Chosen because every part is a managed service the
// SDK declares (no hand-written function or container to build and patch); the Workflow's own service
// account may stop this one instance and nothing else (a custom role with `compute.instances.stop`,
// bound on the instance), and the trigger's may invoke this one workflow (an IAM condition on its
// name: Workflows has no per-workflow IAM resource in @pulumi/gcp 9.37).
// `workflows.Workflow.deletionProtection` defaults to true (clouds.md §11): set false so destroy works.
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import type { GcpContext } from "./context";
import type { CanaryPlan } from "./canaries";
import { CANARY_PREFIX } from "./bait";

export const STOP_PERMISSION = "compute.instances.stop";
export const PUBSUB_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished";

export function killIsWired(ctx: GcpContext): boolean {
  return ctx.spec.killSwitch.rules.some((r) => r.on === "canary") && !ctx.spec.unsafe.canaryAlertOnly;
}

export function canaryObjectFilter(bucket: string): string {
  return `protoPayload.serviceName="storage.googleapis.com" AND protoPayload.resourceName:"projects/_/buckets/${bucket}/objects/${CANARY_PREFIX}"`;
}

export function canaryCredentialFilter(email: string): string {
  return `protoPayload.authenticationInfo.principalEmail="${email}"`;
}

/** The workflow that stops the workload (Workflows' Compute connector). */
export function stopWorkflowSource(project: string, zone: string, instance: string): string {
  return ["main:", "  steps:", "    - stop:", "        call: googleapis.compute.v1.instances.stop", "        args:", `          project: ${project}`, `          zone: ${zone}`, `          instance: ${instance}`, ""].join("\n");
}

export function wireKillSwitch(ctx: GcpContext, a: { canaries: CanaryPlan; artifactsBucket: gcp.storage.Bucket; workload: gcp.compute.Instance }): void {
  if (!ctx.spec.canaries.enabled) return;
  const filters: { part: string; filter: pulumi.Output<string> }[] = [{ part: "object", filter: a.artifactsBucket.name.apply(canaryObjectFilter) }];
  if (a.canaries.account) filters.push({ part: "credential", filter: a.canaries.account.email.apply(canaryCredentialFilter) });

  for (const f of filters) {
    new gcp.monitoring.AlertPolicy(
      ctx.name(`canary-${f.part}-alert`),
      {
        displayName: `sandbox ${ctx.identity.id}: canary ${f.part} used`,
        combiner: "OR",
        conditions: [{ displayName: `canary ${f.part}`, conditionMatchedLog: { filter: f.filter } }],
        alertStrategy: { notificationRateLimit: { period: "300s" } },
        severity: "CRITICAL",
      },
      ctx.opts(),
    );
  }
  if (!killIsWired(ctx)) return;

  const topic = new gcp.pubsub.Topic(ctx.name("kill-topic"), { name: ctx.quietName("events", 255) }, ctx.opts());
  const sink = new gcp.logging.ProjectSink(
    ctx.name("kill-sink"),
    {
      name: ctx.quietName("events-sink", 100),
      destination: pulumi.interpolate`pubsub.googleapis.com/${topic.id}`,
      filter: pulumi.all(filters.map((f) => f.filter)).apply((fs) => fs.map((x) => `(${x})`).join(" OR ")),
      uniqueWriterIdentity: true,
    },
    ctx.opts(),
  );
  new gcp.pubsub.TopicIAMMember(ctx.name("kill-topic-publisher"), { topic: topic.name, role: "roles/pubsub.publisher", member: sink.writerIdentity }, ctx.opts());

  // The workflow's identity: may stop the workload instance, nothing else.
  const stopper = new gcp.serviceaccount.Account(ctx.name("kill-sa"), { accountId: ctx.quietName("stopper"), displayName: "sandbox stopper" }, ctx.opts());
  const stopRole = new gcp.projects.IAMCustomRole(
    ctx.name("kill-role"),
    { project: ctx.project, roleId: `stop_${ctx.identity.id.replace(/[^a-zA-Z0-9]/g, "_")}`.slice(0, 64), title: "Stop one sandbox instance", permissions: [STOP_PERMISSION] },
    ctx.opts(),
  );
  new gcp.compute.InstanceIAMMember(
    ctx.name("kill-stop-binding"),
    { project: ctx.project, zone: ctx.zone, instanceName: a.workload.name, role: stopRole.name, member: pulumi.interpolate`serviceAccount:${stopper.email}` },
    ctx.opts(),
  );
  const workflow = new gcp.workflows.Workflow(
    ctx.name("kill-workflow"),
    { name: ctx.quietName("stop", 64), region: ctx.region, serviceAccount: stopper.id, sourceContents: a.workload.name.apply((n) => stopWorkflowSource(ctx.project, ctx.zone, n)), deletionProtection: false },
    ctx.opts(),
  );

  // The trigger's identity: may invoke this one workflow.
  const invoker = new gcp.serviceaccount.Account(ctx.name("kill-trigger-sa"), { accountId: ctx.quietName("invoker"), displayName: "sandbox stop trigger" }, ctx.opts());
  const workflowName = pulumi.interpolate`projects/${ctx.project}/locations/${ctx.region}/workflows/${workflow.name}`;
  new gcp.projects.IAMMember(
    ctx.name("kill-invoker-binding"),
    { project: ctx.project, role: "roles/workflows.invoker", member: pulumi.interpolate`serviceAccount:${invoker.email}`, condition: { title: "this-workflow", expression: pulumi.interpolate`resource.name == "${workflowName}"` } },
    ctx.opts(),
  );
  new gcp.eventarc.Trigger(
    ctx.name("kill-trigger"),
    {
      name: ctx.quietName("stop-trigger", 64),
      location: ctx.region,
      matchingCriterias: [{ attribute: "type", value: PUBSUB_PUBLISHED }],
      transport: { pubsub: { topic: topic.id } },
      destination: { workflow: workflowName },
      serviceAccount: invoker.email,
    },
    ctx.opts(),
  );
}
