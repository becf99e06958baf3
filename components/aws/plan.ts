// The sandbox's layout, computed from the spec alone (no cloud calls), so that it is stable between
// deploys and testable without the SDK: subnet ranges, fixed private addresses and one gate listener
// per allowed upstream.
import { intToIpv4, ipv4ToInt, isPrivateIpv4, parseCidr } from "../spec/net";
import type { SandboxSpec } from "../spec/schema";
import { serviceHostname } from "./services";

/** The gate's and the targets' instance types (fixed: the zone choice must know every type the sandbox runs). */
export const GATE_INSTANCE_TYPE = "t3.micro";
export const TARGET_INSTANCE_TYPE = "t3.small";

/** The four subnets, each a quarter of `network.cidr`. */
export const SUBNET_PARTS = ["workload", "gate", "endpoints", "targets"] as const;
export type SubnetPart = (typeof SUBNET_PARTS)[number];

/** Hosts start at this offset in their subnet (AWS reserves the first four addresses). */
const HOST_OFFSET = 10;

export interface GateListener {
  /** The upstream's name (spec `egress.allow[].name`); also the Toxiproxy proxy name. */
  name: string;
  listenPort: number;
  /** `host:port` the gate forwards to. */
  upstream: string;
  via: "endpoint" | "target" | "address";
  /** Endpoint service (via endpoint), target name (via target) or host (via address). */
  service?: string;
  target?: string;
  host?: string;
  port: number;
  /** Host names the workload should resolve to the gate (the upstream name, and the service's own name). */
  aliases: string[];
}

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

export function splitCidr(cidr: string, parts: number): string[] {
  const c = parseCidr(cidr);
  if (!c) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const bits = Math.log2(parts);
  if (!Number.isInteger(bits)) throw new Error(`cannot split into ${parts} parts`);
  const size = 2 ** (32 - c.prefix - bits);
  const mask = c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0;
  const base = (ipv4ToInt(c.address)! & mask) >>> 0;
  return Array.from({ length: parts }, (_, i) => `${intToIpv4(base + i * size)}/${c.prefix + bits}`);
}

function hostIn(subnet: string, index: number): string {
  const c = parseCidr(subnet)!;
  return intToIpv4(ipv4ToInt(c.address)! + HOST_OFFSET + index);
}

function isPrivateLiteral(host: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(host) && isPrivateIpv4(host);
}

export function planSandbox(spec: SandboxSpec, region: string): SandboxPlan {
  const cidrs = splitCidr(spec.network.cidr, SUBNET_PARTS.length);
  const subnets = Object.fromEntries(SUBNET_PARTS.map((p, i) => [p, cidrs[i]])) as Record<SubnetPart, string>;
  const targets = spec.targets.map((t, i) => ({ name: t.name, image: t.image, port: t.port, privateIp: hostIn(subnets.targets, i) }));
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
    gateIp: hostIn(subnets.gate, 0),
    targets,
    listeners,
    endpointServices: [...new Set(listeners.filter((l) => l.via === "endpoint").map((l) => l.service!))],
    publicAddresses: listeners.filter((l) => l.via === "address" && !isPrivateLiteral(l.host!)).map((l) => ({ host: l.host!, port: l.port })),
  };
}
