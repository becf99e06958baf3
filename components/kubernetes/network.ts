// The sandbox's boundary: one namespace per sandbox, with Pod Security "restricted" enforced (and
// warned and audited), a ResourceQuota that caps the namespace at what the sandbox's pods declare,
// and a LimitRange so that no container in it can run without limits. Airlock's labels go on the
// namespace too: the sweeper finds an expired sandbox by its expiry label.
import type { Manifest } from "./manifest";
import { meta, type RenderContext } from "./context";
import { podResources } from "./workload";
import { gateResources } from "./gate";
import { targetResources } from "./targets";
import { guardResources } from "./killswitch";

export const POD_SECURITY_LABELS = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/enforce-version": "latest",
  "pod-security.kubernetes.io/warn": "restricted",
  "pod-security.kubernetes.io/warn-version": "latest",
  "pod-security.kubernetes.io/audit": "restricted",
  "pod-security.kubernetes.io/audit-version": "latest",
};

export function namespace(ctx: RenderContext): Manifest {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name: ctx.ns, labels: { ...ctx.labels, ...POD_SECURITY_LABELS } } };
}

const CPU_MILLI = (q: string) => (q.endsWith("m") ? Number(q.slice(0, -1)) : Number(q) * 1000);
const MI = (q: string) => Number(q.replace(/Mi$/, ""));

/** Quota = the sum of the sandbox's own pods: nothing else fits in the namespace. */
export function quota(ctx: RenderContext): Manifest {
  const all = [podResources(ctx), gateResources(ctx), ...ctx.spec.targets.map(() => targetResources()), ...(guardResources(ctx) ? [guardResources(ctx)!] : [])];
  const cpu = all.reduce((s, r) => s + CPU_MILLI(r.limits.cpu), 0);
  const mem = all.reduce((s, r) => s + MI(r.limits.memory), 0);
  const eph = all.reduce((s, r) => s + MI(r.limits["ephemeral-storage"] ?? "0Mi"), 0);
  const pods = String(all.length);
  return {
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: meta(ctx, "sandbox"),
    spec: {
      hard: {
        pods,
        "requests.cpu": `${cpu}m`,
        "limits.cpu": `${cpu}m`,
        "requests.memory": `${mem}Mi`,
        "limits.memory": `${mem}Mi`,
        "requests.ephemeral-storage": `${eph}Mi`,
        "limits.ephemeral-storage": `${eph}Mi`,
        // No Services beyond the gate's and the targets', no load balancers or node ports at all.
        services: String(1 + ctx.spec.targets.length),
        "services.loadbalancers": "0",
        "services.nodeports": "0",
        persistentvolumeclaims: "0",
      },
    },
  };
}

export function limitRange(ctx: RenderContext): Manifest {
  return {
    apiVersion: "v1",
    kind: "LimitRange",
    metadata: meta(ctx, "sandbox"),
    spec: {
      limits: [
        {
          type: "Container",
          // A container that names no limits gets small ones, never "unbounded".
          default: { cpu: "100m", memory: "64Mi", "ephemeral-storage": "64Mi" },
          defaultRequest: { cpu: "100m", memory: "64Mi", "ephemeral-storage": "64Mi" },
          maxLimitRequestRatio: { cpu: "1", memory: "1" },
        },
      ],
    },
  };
}
