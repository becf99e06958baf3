// The egress gate: a Toxiproxy pod in the sandbox's namespace with one listener per allowed upstream
// (the only thing the workload may reach) and the admin API on 8474 (reachable only by the chaos
// runner: firewall.ts). Its Service has a fixed ClusterIP (context.ts), so the workload reaches it by
// address and needs no DNS.
import { GATE_ADMIN_PORT, SYSTEM_UID, containerSecurity, fixedResources, meta, podBase, roleLabels, type RenderContext } from "./context";
import type { Manifest } from "./manifest";
import { runtimeClassOf } from "./runtime";

const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;

export type UpstreamPeer = { kind: "target"; target: string } | { kind: "cidr"; cidr: string };

export interface Upstream {
  name: string;
  listenPort: number;
  /** What the gate dials. */
  host: string;
  port: number;
  /** Who the gate's egress policy must allow for this upstream. */
  peer: UpstreamPeer;
}

export function upstreams(ctx: RenderContext): Upstream[] {
  return ctx.spec.egressResolved.map((e) => {
    if (e.via === "target") return { name: e.name, listenPort: e.listenPort, host: ctx.addresses.targets[e.target!], port: e.port, peer: { kind: "target", target: e.target! } };
    if (e.via === "endpoint") {
      const ep = ctx.profile.endpoints[e.service!];
      return { name: e.name, listenPort: e.listenPort, host: ep.host, port: e.port, peer: { kind: "cidr", cidr: ep.cidr } };
    }
    return { name: e.name, listenPort: e.listenPort, host: e.host!, port: e.port, peer: { kind: "cidr", cidr: `${e.host}/32` } };
  });
}

/** The gate needs cluster DNS only when an upstream is a name (targets and addresses are IPs). */
/** The gate pod's name: the guard's Role reads its log (identity.ts), the guard ships it (killswitch.ts). */
export const GATE_POD = "gate";

export function gateNeedsDns(ctx: RenderContext): boolean {
  return upstreams(ctx).some((u) => !IPV4.test(u.host));
}

export function gateResources(_ctx: RenderContext) {
  return fixedResources("250m", "128Mi", "64Mi");
}

export function gate(ctx: RenderContext): Manifest[] {
  const ups = upstreams(ctx);
  const proxies = ups.map((u) => ({ name: u.name, listen: `0.0.0.0:${u.listenPort}`, upstream: `${u.host}:${u.port}`, enabled: true }));
  const labels = roleLabels("gate");
  return [
    { apiVersion: "v1", kind: "ConfigMap", metadata: meta(ctx, "gate"), data: { "proxies.json": JSON.stringify(proxies, null, 2) } },
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: meta(ctx, GATE_POD, labels),
      spec: {
        ...podBase(ctx, SYSTEM_UID),
        serviceAccountName: "gate",
        runtimeClassName: runtimeClassOf(ctx),
        containers: [
          {
            name: "toxiproxy",
            image: ctx.profile.images.gate,
            args: ["-host", "0.0.0.0", "-port", String(GATE_ADMIN_PORT), "-config", "/etc/airlock/proxies.json"],
            ports: [...ups.map((u) => ({ name: `l-${u.listenPort}`, containerPort: u.listenPort, protocol: "TCP" })), { name: "admin", containerPort: GATE_ADMIN_PORT, protocol: "TCP" }],
            securityContext: containerSecurity(SYSTEM_UID),
            resources: gateResources(ctx),
            volumeMounts: [{ name: "config", mountPath: "/etc/airlock", readOnly: true }],
          },
        ],
        volumes: [{ name: "config", configMap: { name: "gate" } }],
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(ctx, "gate"),
      spec: {
        type: "ClusterIP",
        clusterIP: ctx.addresses.gate,
        selector: labels,
        ports: [...ups.map((u) => ({ name: `l-${u.listenPort}`, port: u.listenPort, targetPort: u.listenPort, protocol: "TCP" })), { name: "admin", port: GATE_ADMIN_PORT, targetPort: GATE_ADMIN_PORT, protocol: "TCP" }],
      },
    },
  ];
}
