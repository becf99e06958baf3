// What the in-guest guard is told, one JSON file (GUARD_CONFIG_PATH, root-only) written
// by the VM's first-boot script. Cloud-neutral: the cloud fills in where the gate is, which system
// traffic its platform needs, how a record entry reaches its record store and how to power off.
// `guestGuardConfig` derives everything that comes from the spec, so every cloud gets the same rules.
import type { KillRule, SandboxSpec } from "../spec/schema";
import { canaryList } from "../local/canary";

export interface GuestAllow {
  proto: "tcp" | "udp";
  port: number;
  /** An address or CIDR; absent: any (the cloud firewall is the outer boundary). */
  address?: string;
}

export interface GuestGuardConfig {
  sandboxId: string;
  rules: KillRule[];
  ttl: string;
  /** Absolute expiry (ISO), fixed once at creation: the guard powers off then. */
  expiresAt: string;
  workload: {
    user: string;
    home: string;
    /** The workload's uid when the user has no passwd entry (tests); otherwise read from /etc/passwd. */
    uid?: number;
    pids: number;
    /** As written in the spec (e.g. "4GiB"), for the record. */
    memory: string | number;
    /** The workload's cgroup below each hierarchy's root (systemd: system.slice/workload.service). */
    cgroup: string;
  };
  canaries: {
    enabled: boolean;
    /** Paths relative to the home; the local backend's list (canaryList), so the same files. */
    files: string[];
    credential: boolean;
    /** Loopback port of the canary endpoint the fake credentials point at. */
    endpointPort: number;
    /** Text appended to a planted file (e.g. the cloud's real canary key profile in .aws/credentials). */
    append?: Record<string, string>;
    /**
     * Files of `files` the VM's first-boot script already planted with the cloud's own content (a real
     * key that grants nothing, watched by the cloud too): the guard watches them as they are.
     */
    planted?: string[];
  };
  nft: {
    table: string;
    /** The gate listeners the workload may open connections to. */
    gate: { upstream: string; address: string; port: number }[];
    /** What the system (every uid but the workload's) may reach: the record store, DNS, time. */
    system: GuestAllow[];
  };
  record: {
    /** The guard's hash-chained log inside the VM (root-only directory). */
    file: string;
    /** Ships one entry to the record store: argv, `{seq}` and `{type}` replaced, the entry's JSON line on stdin. */
    ship: string[];
    /** How long a kill waits for the record store before it powers off anyway. */
    shipTimeoutMs: number;
  };
  /** The power-off command (the instance's shutdown behaviour then deletes it). */
  powerOff: string[];
  pollMs: number;
}

// Neutral names: the workload can read its own first-boot script (docs/guest-guard.md).
export const GUARD_CONFIG_PATH = "/etc/hostagent/config.json";
export const GUARD_STATE_DIR = "/var/lib/hostagent";
export const WORKLOAD_UNIT = "workload.service";
export const WORKLOAD_CGROUP = `system.slice/${WORKLOAD_UNIT}`;
export const GUEST_NFT_TABLE = "host_filter";
/** Loopback port of the canary endpoint inside the VM. */
export const GUEST_CANARY_PORT = 9911;
export const DEFAULT_POWER_OFF = ["/usr/bin/systemctl", "poweroff", "--force"];

export function homeOf(user: string): string {
  return user === "root" ? "/root" : `/home/${user}`;
}

export interface CloudGuardParts {
  sandboxId: string;
  expiresAt: Date;
  gate: { upstream: string; address: string; port: number }[];
  system: GuestAllow[];
  ship: string[];
  append?: Record<string, string>;
  planted?: string[];
  powerOff?: string[];
}

/** The guard's config for a sandbox: the spec's rules, limits and canaries; the cloud's plumbing. */
export function guestGuardConfig(spec: SandboxSpec, c: CloudGuardParts): GuestGuardConfig {
  return {
    sandboxId: c.sandboxId,
    rules: spec.unsafe.canaryAlertOnly ? spec.killSwitch.rules.filter((r) => r.on !== "canary") : spec.killSwitch.rules,
    ttl: spec.ttl,
    expiresAt: c.expiresAt.toISOString(),
    workload: { user: spec.workload.user, home: homeOf(spec.workload.user), pids: spec.workload.pids, memory: spec.workload.memory, cgroup: WORKLOAD_CGROUP },
    canaries: {
      enabled: spec.canaries.enabled,
      files: spec.canaries.enabled ? [...new Set([...canaryList(spec.canaries.files, spec.canaries.credential), ...(c.planted ?? [])])] : [],
      credential: spec.canaries.credential,
      endpointPort: GUEST_CANARY_PORT,
      append: c.append,
      ...(spec.canaries.enabled && c.planted?.length ? { planted: c.planted } : {}),
    },
    nft: { table: GUEST_NFT_TABLE, gate: c.gate, system: c.system },
    record: { file: `${GUARD_STATE_DIR}/record.jsonl`, ship: c.ship, shipTimeoutMs: 20_000 },
    powerOff: c.powerOff ?? DEFAULT_POWER_OFF,
    pollMs: 250,
  };
}
