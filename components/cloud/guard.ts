// The in-guest guard's config for a VM backend's workload (components/guest/config.ts derives the
// spec's part: rules, limits, canaries, TTL). Here the part every VM cloud shares: which gate
// listeners the workload's uid may open connections to, what the system (root: the guard, the
// journal shipper, the platform's agents) may reach, and how a record entry is shipped (the
// instance's record helper, RECORD_PUT). A cloud passes only what differs: its own platform
// addresses (`system`) and which files its first-boot script already planted.
import type { SandboxSpec } from "../spec/schema";
import type { GateListener } from "./layout";
import { guestGuardConfig, GuestAllow, GuestGuardConfig } from "../guest/config";
import { RECORD_PUT } from "./boot";

/** The metadata server of every VM cloud: the workload's own credentials (its model access) come from it. */
export const METADATA_ADDRESS = "169.254.169.254";

/** What any VM's system traffic may need: HTTPS (the record and artifacts stores), DNS, time, the metadata server. */
export const VM_SYSTEM_ALLOW: readonly GuestAllow[] = [
  { proto: "tcp", port: 443 },
  { proto: "udp", port: 53 },
  { proto: "tcp", port: 53 },
  { proto: "udp", port: 123 },
  { proto: "tcp", port: 80, address: METADATA_ADDRESS },
];

export interface VmGuardParts {
  sandboxId: string;
  expiresAt: Date;
  gateIp: string;
  /** The gate's listeners the workload uses (the cloud's record listener is system traffic: `system`). */
  listeners: readonly Pick<GateListener, "name" | "listenPort">[];
  /** The cloud's own platform addresses beyond VM_SYSTEM_ALLOW. */
  system?: GuestAllow[];
  /** Home files the first-boot script planted with the cloud's own content (the guard watches them as they are). */
  planted: string[];
}

export function vmGuardConfig(spec: SandboxSpec, p: VmGuardParts): GuestGuardConfig {
  return guestGuardConfig(spec, {
    sandboxId: p.sandboxId,
    expiresAt: p.expiresAt,
    gate: [...p.listeners.map((l) => ({ upstream: l.name, address: p.gateIp, port: l.listenPort })), { upstream: "instance-metadata", address: METADATA_ADDRESS, port: 80 }],
    system: [...VM_SYSTEM_ALLOW, ...(p.system ?? [])],
    ship: [RECORD_PUT, "-", "guard/{seq}-{type}.json"],
    planted: p.planted,
  });
}
