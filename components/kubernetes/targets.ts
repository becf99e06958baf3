// Targets (the deliberately vulnerable services an evaluation attacks) as their own pods in the
// sandbox's namespace, each behind a Service with a fixed address; only the gate may reach them
// (firewall.ts), and they may reach nothing.
import { SYSTEM_UID, TARGET_LABEL, containerSecurity, fixedResources, meta, podBase, roleLabels, type RenderContext } from "./context";
import type { Manifest } from "./manifest";
import { runtimeClassOf } from "./runtime";

export function targetResources() {
  return fixedResources("500m", "256Mi", "256Mi");
}

export function targetName(name: string): string {
  return `target-${name}`;
}

export function targets(ctx: RenderContext): Manifest[] {
  return ctx.spec.targets.flatMap((t) => {
    const labels = roleLabels("target", { [TARGET_LABEL]: t.name });
    return [
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: meta(ctx, targetName(t.name), labels),
        spec: {
          ...podBase(ctx, SYSTEM_UID),
          serviceAccountName: "target",
          runtimeClassName: runtimeClassOf(ctx),
          containers: [
            {
              name: "target",
              image: t.image!, // present and pinned by digest (rules.ts)
              ...(t.command ? { command: t.command } : {}),
              env: Object.entries(t.env).map(([name, value]) => ({ name, value })),
              ports: [{ containerPort: t.port, protocol: "TCP" }],
              securityContext: containerSecurity(SYSTEM_UID),
              resources: targetResources(),
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
            },
          ],
          volumes: [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }],
        },
      },
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: meta(ctx, targetName(t.name)),
        spec: { type: "ClusterIP", clusterIP: ctx.addresses.targets[t.name], selector: labels, ports: [{ port: t.port, targetPort: t.port, protocol: "TCP" }] },
      },
    ];
  });
}
