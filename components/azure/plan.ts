// The Azure sandbox's layout, computed from the spec alone (no cloud calls), so that it is stable
// between deploys and testable without the SDK: subnet ranges, the fixed private address of every
// machine and private endpoint (NSG rules name single addresses), one gate listener per allowed
// upstream, and the globally unique names Azure needs (storage account, OpenAI sub-domain).
import type { SandboxSpec } from "../spec/schema";
import { isPrivateIpv4 } from "../spec/net";
import { shortHash } from "../naming";
import { GateListener, hostAt, IPV4_LITERAL, splitCidr } from "../cloud/layout";
export type { GateListener };
import { AZURE_ENDPOINT_SERVICES, BLOB_SUFFIX } from "./services";

export const SUBNET_PARTS = ["workload", "gate", "endpoints", "targets"] as const;
export type SubnetPart = (typeof SUBNET_PARTS)[number];

export interface EndpointPlan {
  service: string;
  /** The account's sub-domain (globally unique, neutral). */
  subDomain: string;
  hostname: string;
  privateIp: string;
}

export interface AzurePlan {
  vnetCidr: string;
  subnets: Record<SubnetPart, string>;
  workloadIp: string;
  gateIp: string;
  targets: { name: string; image?: string; port: number; privateIp: string }[];
  listeners: GateListener[];
  /** The record account's name (3-24 lowercase letters and digits, globally unique). */
  recordAccount: string;
  recordHost: string;
  /** The record account's private endpoint address. */
  recordIp: string;
  endpoints: EndpointPlan[];
  /** Upstreams with a public address: only built when unsafe.allowInternet is set. */
  publicAddresses: { host: string; port: number }[];
}

export function planAzureSandbox(spec: SandboxSpec, sandboxId: string): AzurePlan {
  const cidrs = splitCidr(spec.network.cidr, SUBNET_PARTS.length);
  const subnets = Object.fromEntries(SUBNET_PARTS.map((p, i) => [p, cidrs[i]])) as Record<SubnetPart, string>;
  const targets = spec.targets.map((t, i) => ({ name: t.name, image: t.image, port: t.port, privateIp: hostAt(subnets.targets, i) }));
  const services = [...new Set(spec.egressResolved.filter((e) => e.via === "endpoint").map((e) => e.service!))];
  const endpoints = services.map((service, i): EndpointPlan => {
    const subDomain = `m${shortHash(`${sandboxId}:${service}`, 12)}`;
    return { service, subDomain, hostname: `${subDomain}.${AZURE_ENDPOINT_SERVICES[service].publicSuffix}`, privateIp: hostAt(subnets.endpoints, 1 + i) };
  });
  const listeners = spec.egressResolved.map((e): GateListener => {
    const base = { name: e.name, listenPort: e.listenPort, via: e.via, port: e.port };
    if (e.via === "endpoint") {
      const ep = endpoints.find((x) => x.service === e.service)!;
      return { ...base, upstream: `${ep.hostname}:${e.port}`, service: e.service, aliases: [e.name, ep.hostname] };
    }
    if (e.via === "target") return { ...base, upstream: `${targets.find((t) => t.name === e.target)!.privateIp}:${e.port}`, target: e.target, aliases: [e.name] };
    return { ...base, upstream: `${e.host}:${e.port}`, host: e.host, aliases: [e.name] };
  });
  const recordAccount = `s${shortHash(sandboxId, 12)}log`;
  return {
    vnetCidr: spec.network.cidr,
    subnets,
    workloadIp: hostAt(subnets.workload, 0),
    gateIp: hostAt(subnets.gate, 0),
    targets,
    listeners,
    recordAccount,
    recordHost: `${recordAccount}.${BLOB_SUFFIX}`,
    recordIp: hostAt(subnets.endpoints, 0),
    endpoints,
    publicAddresses: listeners.filter((l) => l.via === "address" && !(IPV4_LITERAL.test(l.host!) && isPrivateIpv4(l.host!))).map((l) => ({ host: l.host!, port: l.port })),
  };
}
