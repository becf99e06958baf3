// The kill switch on Kubernetes: an in-namespace guard pod that evaluates the spec's kill rules and
// deletes the workload pod (its Role allows exactly that: identity.ts). Rules it judges from the API:
// `oom` and `pids-limit` (the workload container's termination reason), `canary` (the canary
// credential presented to the gate's upstreams is reported by the record; file reads inside a
// hypervisor sandbox are not visible to a pod — docs/kubernetes.md). The deadline kill needs no guard:
// activeDeadlineSeconds (ttl.ts).
import { SYSTEM_UID, containerSecurity, fixedResources, meta, podBase, roleLabels, type RenderContext } from "./context";
import type { Manifest } from "./manifest";
import { WORKLOAD_POD } from "./workload";
import { runtimeClassOf } from "./runtime";
import { GATE_POD } from "./gate";

export function guardEnabled(ctx: RenderContext): boolean {
  return ctx.spec.killSwitch.rules.length > 0;
}

export function guardResources(ctx: RenderContext) {
  return guardEnabled(ctx) ? fixedResources("100m", "64Mi", "16Mi") : undefined;
}

export function guard(ctx: RenderContext): Manifest[] {
  if (!guardEnabled(ctx)) return [];
  const rules = { sandbox: ctx.identity.id, namespace: ctx.ns, workloadPod: WORKLOAD_POD, rules: ctx.spec.killSwitch.rules, canaryAlertOnly: ctx.spec.unsafe.canaryAlertOnly, record: ctx.profile.record?.bucket, recordEndpoint: ctx.profile.record?.endpoint, gateLogPod: GATE_POD, expiresAt: ctx.identity.expiresAt.toISOString(), ttl: ctx.spec.ttl };
  return [
    { apiVersion: "v1", kind: "ConfigMap", metadata: meta(ctx, "guard"), data: { "rules.json": JSON.stringify(rules, null, 2) } },
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: meta(ctx, "guard", roleLabels("guard")),
      spec: {
        ...podBase(ctx, SYSTEM_UID),
        // The one token in the sandbox: the guard's, bound to the Role that deletes its own workload.
        automountServiceAccountToken: true,
        serviceAccountName: "guard",
        // Airlock's own pod, but not on the node's kernel either: every pod of a sandbox shares the runtime.
        runtimeClassName: runtimeClassOf(ctx),
        containers: [
          {
            name: "guard",
            image: ctx.profile.images.guard,
            args: ["guard", "--kubernetes", "--rules", "/etc/airlock/rules.json"],
            securityContext: containerSecurity(SYSTEM_UID),
            resources: guardResources(ctx),
            volumeMounts: [{ name: "rules", mountPath: "/etc/airlock", readOnly: true }],
          },
        ],
        volumes: [{ name: "rules", configMap: { name: "guard" } }],
      },
    },
  ];
}
