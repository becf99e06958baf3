// The sandbox's layout, computed from the spec alone (no cloud calls), so that it is stable between
// deploys and testable without the SDK: subnet ranges, fixed private addresses and one gate listener
// per allowed upstream.
import { isPrivateIpv4 } from "../spec/net";
import { GateListener, hostAt, IPV4_LITERAL, splitCidr } from "../cloud/layout";
import type { SandboxSpec } from "../spec/schema";
import { serviceHostname } from "./services";

/** The gate's and the targets' instance types (fixed: the zone choice must know every type the sandbox runs). */
export const GATE_INSTANCE_TYPE = "t3.micro";
export const TARGET_INSTANCE_TYPE = "t3.small";

/** The four subnets, each a quarter of `network.cidr`. */
export const SUBNET_PARTS = ["workload", "gate", "endpoints", "targets"] as const;
export type SubnetPart = (typeof SUBNET_PARTS)[number];

export type { GateListener };

export interface TargetPlan {
  name: string;
  image?: string;
  port: number;
  privateIp: string;
}

export interface SandboxPlan {
  vpcCidr: string;
  subnets: Record<SubnetPart, string>;
  gateIp: string;
  targets: TargetPlan[];
  listeners: GateListener[];
  /** Endpoint services the gate reaches (one interface endpoint each). */
  endpointServices: string[];
  /** Upstreams with a public address: only built when unsafe.allowInternet is set. */
  publicAddresses: { host: string; port: number }[];
}

export { splitCidr };

function isPrivateLiteral(host: string): boolean {
  return IPV4_LITERAL.test(host) && isPrivateIpv4(host);
}

export function planSandbox(spec: SandboxSpec, region: string): SandboxPlan {
  const cidrs = splitCidr(spec.network.cidr, SUBNET_PARTS.length);
  const subnets = Object.fromEntries(SUBNET_PARTS.map((p, i) => [p, cidrs[i]])) as Record<SubnetPart, string>;
  const targets = spec.targets.map((t, i) => ({ name: t.name, image: t.image, port: t.port, privateIp: hostAt(subnets.targets, i) }));
  const listeners = spec.egressResolved.map((e): GateListener => {
    if (e.via === "endpoint") {
      const hostname = serviceHostname(region, e.service!);
      return { name: e.name, listenPort: e.listenPort, upstream: `${hostname}:${e.port}`, via: e.via, service: e.service, port: e.port, aliases: [e.name, hostname] };
    }
    if (e.via === "target") {
      const target = targets.find((t) => t.name === e.target)!;
      return { name: e.name, listenPort: e.listenPort, upstream: `${target.privateIp}:${e.port}`, via: e.via, target: e.target, port: e.port, aliases: [e.name] };
    }
    return { name: e.name, listenPort: e.listenPort, upstream: `${e.host}:${e.port}`, via: e.via, host: e.host, port: e.port, aliases: [e.name] };
  });
  return {
    vpcCidr: spec.network.cidr,
    subnets,
    gateIp: hostAt(subnets.gate, 0),
    targets,
    listeners,
    endpointServices: [...new Set(listeners.filter((l) => l.via === "endpoint").map((l) => l.service!))],
    publicAddresses: listeners.filter((l) => l.via === "address" && !isPrivateLiteral(l.host!)).map((l) => ({ host: l.host!, port: l.port })),
  };
}
