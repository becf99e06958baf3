// The workload: one Pod (restartPolicy Never: an evaluation runs once) under a hypervisor
// RuntimeClass, with no service-account token, no service links, non-root, a read-only root
// filesystem, every capability dropped, seccomp RuntimeDefault, no host namespaces or paths,
// requests = limits and the TTL as its activeDeadlineSeconds. It reaches the upstreams by their names
// through hostAliases that point at the gate's fixed address: no DNS.
import { WORKLOAD_UID, containerSecurity, fixedResources, meta, mib, podBase, roleLabels, type RenderContext } from "./context";
import type { Manifest } from "./manifest";
import { placementOf, runtimeClassOf } from "./runtime";
import { canaryMounts, canaryVolumes } from "./canaries";

export const WORKLOAD_POD = "workload";

export function podResources(ctx: RenderContext) {
  const w = ctx.spec.workload;
  const cpu = `${Math.round(w.cpus * 1000)}m`;
  return fixedResources(cpu, mib(ctx.spec.workloadMemoryBytes), mib(ctx.spec.workloadDiskBytes));
}

export function homeOf(ctx: RenderContext): string {
  return `/home/${ctx.spec.workload.user}`;
}

export function workload(ctx: RenderContext): Manifest {
  const w = ctx.spec.workload;
  const names = ctx.spec.egressResolved.map((e) => e.name);
  const env = { ...w.env, ...(ctx.override?.env ?? {}), AIRLOCK_SANDBOX: ctx.identity.id, AIRLOCK_GATE: ctx.addresses.gate, HOME: homeOf(ctx) };
  const half = Math.max(1, Math.floor(ctx.spec.workloadDiskBytes / 2 ** 21));
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: meta(ctx, WORKLOAD_POD, roleLabels("workload")),
    spec: {
      ...podBase(ctx, WORKLOAD_UID),
      serviceAccountName: "workload",
      runtimeClassName: runtimeClassOf(ctx),
      ...placementOf(ctx),
      ...(names.length ? { hostAliases: [{ ip: ctx.addresses.gate, hostnames: names }] } : {}),
      // No resolver at all: the pod's DNS policy "None" with a nameserver that is the gate itself,
      // which answers nothing on 53 (and the egress policy allows the gate's listener ports only).
      dnsPolicy: "None",
      dnsConfig: { nameservers: [ctx.addresses.gate], searches: [], options: [{ name: "ndots", value: "1" }] },
      containers: [
        {
          name: "workload",
          // Present and pinned by digest: rules.ts refuses a spec without it.
          image: w.image!,
          command: ctx.override?.command ?? w.command,
          env: Object.entries(env).map(([name, value]) => ({ name, value })),
          securityContext: containerSecurity(WORKLOAD_UID),
          resources: podResources(ctx),
          volumeMounts: [
            { name: "home", mountPath: homeOf(ctx) },
            { name: "tmp", mountPath: "/tmp" },
            ...canaryMounts(ctx),
          ],
        },
      ],
      volumes: [
        { name: "home", emptyDir: { sizeLimit: `${half}Mi` } },
        { name: "tmp", emptyDir: { sizeLimit: `${half}Mi` } },
        ...canaryVolumes(ctx),
      ],
    },
  };
}
