// The GCP sandbox's layout, from the spec alone (no cloud calls): subnet ranges, fixed internal
// addresses, one gate listener per allowed upstream, plus the gate's own listener for the workload's
// record (the workload has no path to Google APIs except through the gate).
import { cidrReachesInternet } from "../spec/net";
import type { SandboxSpec } from "../spec/schema";
import { GateListener as SharedListener, hostAt, splitCidr } from "../cloud/layout";
import { googleServiceOf, GOOGLE_APIS_PORT, STORAGE_HOST } from "./services";

/** Three subnets (a quarter of `network.cidr` each; the fourth quarter stays unused). */
export const SUBNET_PARTS = ["workload", "gate", "targets"] as const;
export type SubnetPart = (typeof SUBNET_PARTS)[number];

/** The gate listener the workload's log shipper uses to reach Cloud Storage; first free port from here. */
const RECORD_LISTEN_PORT_BASE = 9443;
export const RECORD_LISTENER = "record";

/** A gate listener (cloud/layout.ts), or the gate's own record listener for the workload. */
export type GateListener = Omit<SharedListener, "via"> & { via: SharedListener["via"] | "record" };

export interface TargetPlan {
  name: string;
  image?: string;
  port: number;
  privateIp: string;
}

export interface GcpPlan {
  cidr: string;
  subnets: Record<SubnetPart, string>;
  gateIp: string;
  targets: TargetPlan[];
  /** The spec's upstreams, then the record listener. */
  listeners: GateListener[];
  recordListener: GateListener;
  /** Upstreams with a public address (only built with unsafe.allowInternet). */
  publicAddresses: { host: string; port: number }[];
}

export function planGcpSandbox(spec: SandboxSpec, region: string): GcpPlan {
  const quarters = splitCidr(spec.network.cidr, 4);
  const subnets = Object.fromEntries(SUBNET_PARTS.map((p, i) => [p, quarters[i]])) as Record<SubnetPart, string>;
  const targets = spec.targets.map((t, i) => ({ name: t.name, image: t.image, port: t.port, privateIp: hostAt(subnets.targets, i) }));
  const upstreams = spec.egressResolved.map((e): GateListener => {
    if (e.via === "endpoint") {
      const hostname = googleServiceOf(e.service!)!.def.hostname(region);
      return { name: e.name, listenPort: e.listenPort, upstream: `${hostname}:${e.port}`, via: e.via, service: e.service, port: e.port, aliases: [e.name, hostname] };
    }
    if (e.via === "target") {
      const target = targets.find((t) => t.name === e.target)!;
      return { name: e.name, listenPort: e.listenPort, upstream: `${target.privateIp}:${e.port}`, via: e.via, target: e.target, port: e.port, aliases: [e.name] };
    }
    return { name: e.name, listenPort: e.listenPort, upstream: `${e.host}:${e.port}`, via: e.via, host: e.host, port: e.port, aliases: [e.name] };
  });
  const used = new Set(upstreams.map((l) => l.listenPort));
  let recordPort = RECORD_LISTEN_PORT_BASE;
  while (used.has(recordPort)) recordPort++;
  const recordListener: GateListener = { name: RECORD_LISTENER, listenPort: recordPort, upstream: `${STORAGE_HOST}:${GOOGLE_APIS_PORT}`, via: "record", port: GOOGLE_APIS_PORT, aliases: [] };
  return {
    cidr: spec.network.cidr,
    subnets,
    gateIp: hostAt(subnets.gate, 0),
    targets,
    listeners: [...upstreams, recordListener],
    recordListener,
    publicAddresses: upstreams.filter((l) => l.via === "address" && cidrReachesInternet(l.host!)).map((l) => ({ host: l.host!, port: l.port })),
  };
}
