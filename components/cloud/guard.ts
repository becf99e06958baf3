// The in-guest guard's config for a VM backend's workload (components/guest/config.ts derives the
// spec's part: rules, limits, canaries, TTL). Here the part every VM cloud shares: which gate
// listeners the workload's uid may open connections to, what the system (every other uid: the guard,
// the journal shipper, the resolver, the time daemon, the platform's agents) may reach, and how a
// record entry is shipped (the instance's record helper, RECORD_PUT). A cloud passes only what
// differs: its platform's endpoints (`platform`, by address: VmPlatformPaths) and which files its
// first-boot script already planted.
import type { SandboxSpec } from "../spec/schema";
import type { GateListener } from "./layout";
import { assertGuestAddress, guestGuardConfig, GuestAllow, GuestGuardConfig } from "../guest/config";
import { assertMetadataAllow, METADATA_FILTER_PORT, METADATA_FILTER_UID, MetadataAllow, MetadataFilterConfig } from "../guest/metadata-filter";
import { RECORD_PUT } from "./boot";

/**
 * The metadata server of every VM cloud: the workload's own credentials (its model access) come from
 * it — through the metadata filter only (components/guest/metadata-filter.ts), since the same server
 * serves the boot script and with it the guard's config.
 */
export const METADATA_ADDRESS = "169.254.169.254";
export const METADATA_PORT = 80;
/** root: the guard (which ships the record with the instance's credentials) and the platform's agents. */
export const ROOT_UID = 0;

export const HTTPS_PORT = 443;
const DNS_PORT = 53;
const NTP_PORT = 123;

/** An address (or CIDR) and the tcp port a system process reaches it on. */
export interface PlatformEndpoint {
  address: string;
  port: number;
}

/**
 * Where one cloud's VM system traffic goes, by address: each cloud fills in the same four fields from
 * what it builds (its resolver, its time service, the private path to its stores, its agents' own
 * endpoints). Nothing here means "any address".
 */
export interface VmPlatformPaths {
  /** The resolvers the VM's DNS is given (udp and tcp 53), for every system uid: systemd-resolved runs as its own user. */
  resolvers: string[];
  /** Network time servers (udp 123), for every system uid: chronyd drops root. Empty where the clock comes from the hypervisor. */
  timeServers: string[];
  /** Where the record and artifacts stores are reached (tcp): the private endpoint's addresses or ranges and their port. */
  stores: PlatformEndpoint[];
  /** The platform agents' endpoints beyond the metadata server (tcp); like it, for root only. */
  rootAgents: PlatformEndpoint[];
}

function assertPaths(p: VmPlatformPaths): void {
  for (const field of ["resolvers", "stores"] as const)
    if (!p[field]?.length) throw new Error(`VmPlatformPaths.${field} is empty: the workload VM's system needs at least one (${field === "stores" ? "the record is shipped through it" : "its names resolve through it"}); the cloud's platform part must list it by address`);
  p.resolvers.forEach((a, i) => assertGuestAddress(`VmPlatformPaths.resolvers[${i}]`, a));
  p.timeServers.forEach((a, i) => assertGuestAddress(`VmPlatformPaths.timeServers[${i}]`, a));
  p.stores.forEach((e, i) => assertGuestAddress(`VmPlatformPaths.stores[${i}].address`, e.address));
  p.rootAgents.forEach((e, i) => assertGuestAddress(`VmPlatformPaths.rootAgents[${i}].address`, e.address));
}

/**
 * The system part of the guest firewall: the cloud's endpoints, each by address, and the metadata
 * server for root (every cloud's agents that read it — cloud-init, the SSM / guest / Azure agents —
 * run as root) and the metadata filter's uid only; the workload reaches it through the filter.
 */
export function vmSystemAllow(p: VmPlatformPaths): GuestAllow[] {
  assertPaths(p);
  const unique = <T>(xs: T[]) => [...new Map(xs.map((x) => [JSON.stringify(x), x])).values()];
  return unique<GuestAllow>([
    ...p.resolvers.flatMap((address) => [
      { proto: "udp" as const, port: DNS_PORT, address },
      { proto: "tcp" as const, port: DNS_PORT, address },
    ]),
    ...p.timeServers.map((address) => ({ proto: "udp" as const, port: NTP_PORT, address })),
    ...p.stores.map((e) => ({ proto: "tcp" as const, port: e.port, address: e.address })),
    { proto: "tcp", port: METADATA_PORT, address: METADATA_ADDRESS, uid: ROOT_UID },
    // The metadata filter's own uid: its upstream connection (./nft.ts lets that uid reach nothing else).
    { proto: "tcp", port: METADATA_PORT, address: METADATA_ADDRESS, uid: METADATA_FILTER_UID },
    ...p.rootAgents.map((e) => ({ proto: "tcp" as const, port: e.port, address: e.address, uid: ROOT_UID })),
  ]);
}

/**
 * The metadata filter of a workload VM: the cloud's allowlist (declared in its platform.ts, the same
 * MetadataAllow shape on every cloud), served on loopback, forwarding to the metadata server.
 */
export function vmMetadataFilter(allow: MetadataAllow[]): MetadataFilterConfig {
  assertMetadataAllow("metadata allowlist (components/<cloud>/platform.ts)", allow);
  return { listen: { address: "127.0.0.1", port: METADATA_FILTER_PORT }, upstream: { address: METADATA_ADDRESS, port: METADATA_PORT }, allow, uid: METADATA_FILTER_UID };
}

export interface VmGuardParts {
  sandboxId: string;
  expiresAt: Date;
  gateIp: string;
  /** The gate's listeners the workload uses (the cloud's record listener is system traffic: `platform.stores`). */
  listeners: readonly Pick<GateListener, "name" | "listenPort">[];
  /** The cloud's platform endpoints the system may reach (plain values: rendered inside the boot script's apply). */
  platform: VmPlatformPaths;
  /** What the workload may ask the metadata server (the cloud's list, its platform.ts). */
  metadata: MetadataAllow[];
  /** Home files the first-boot script planted with the cloud's own content (the guard watches them as they are). */
  planted: string[];
}

/**
 * The guest table's parts: the workload's uid reaches the gate listeners (and loopback, where the
 * metadata filter listens) and nothing else — no gate entry for the metadata server any more: its
 * connections there are redirected to the filter. The system's endpoints by address.
 */
export function vmGuestNft(p: Pick<VmGuardParts, "gateIp" | "listeners" | "platform" | "metadata">): Pick<GuestGuardConfig["nft"], "gate" | "system" | "metadata"> {
  return {
    gate: p.listeners.map((l) => ({ upstream: l.name, address: p.gateIp, port: l.listenPort })),
    system: vmSystemAllow(p.platform),
    metadata: vmMetadataFilter(p.metadata),
  };
}

export function vmGuardConfig(spec: SandboxSpec, p: VmGuardParts): GuestGuardConfig {
  return guestGuardConfig(spec, {
    sandboxId: p.sandboxId,
    expiresAt: p.expiresAt,
    ...vmGuestNft(p),
    ship: [RECORD_PUT, "-", "guard/{seq}-{type}.json"],
    planted: p.planted,
  });
}
