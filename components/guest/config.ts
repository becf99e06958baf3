// What the in-guest guard is told, one JSON file (GUARD_CONFIG_PATH, root-only) written
// by the VM's first-boot script. Cloud-neutral: the cloud fills in where the gate is, which system
// traffic its platform needs, how a record entry reaches its record store and how to power off.
// `guestGuardConfig` derives everything that comes from the spec, so every cloud gets the same rules.
import type { KillRule, SandboxSpec } from "../spec/schema";
import { canaryList } from "../local/canary";

/**
 * One thing the system (every uid but the workload's) may reach. Always an address: a rule for "any
 * address" on a port would let any system process — or anything that runs as one — reach the whole
 * internet wherever the cloud firewall has a gap (issue #8).
 */
export interface GuestAllow {
  proto: "tcp" | "udp";
  port: number;
  /** An IPv4 address or CIDR (at most GUEST_ALLOW_WIDEST_PREFIX wide). */
  address: string;
  /** Only this uid may use the rule (0: root — the guard and the platform's agents); absent: every system uid. */
  uid?: number;
}

/** The widest CIDR a system rule may name: a cloud's service ranges are /15 or narrower; /0–/7 is "the internet". */
export const GUEST_ALLOW_WIDEST_PREFIX = 8;

/** Throws, naming `field`, unless `address` is one IPv4 address or a CIDR no wider than GUEST_ALLOW_WIDEST_PREFIX. */
export function assertGuestAddress(field: string, address: unknown): asserts address is string {
  const text = typeof address === "string" ? address : "";
  const [ip, prefix, extra] = text.split("/");
  const ipOk = /^\d{1,3}(\.\d{1,3}){3}$/.test(ip ?? "") && ip.split(".").every((o) => Number(o) <= 255);
  const prefixOk = prefix === undefined || (/^\d{1,2}$/.test(prefix) && Number(prefix) >= GUEST_ALLOW_WIDEST_PREFIX && Number(prefix) <= 32);
  if (!ipOk || !prefixOk || extra !== undefined)
    throw new Error(
      `${field}: ${JSON.stringify(address)} is not an IPv4 address or a CIDR of /${GUEST_ALLOW_WIDEST_PREFIX} or narrower — the guest firewall lets system traffic reach named endpoints only; name the platform endpoint's address (components/cloud/guard.ts VmPlatformPaths)`,
    );
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
    /** What the system (every uid but the workload's) may reach, by address: the record store, DNS, time, the metadata server (root only). */
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
