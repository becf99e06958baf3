// The SandboxSpec: one cloud-neutral document that every backend builds an equivalent sandbox from.
//
// Defaults are closed: no egress, canaries on, every kill rule on, logs retention-locked in compliance
// mode, a 4h TTL, a non-root workload user. Loosening any of these needs a field in `unsafe`, so that
// an opt-out is always written down and shows up in the record and in `airlock check`.
//
// Objects are strict: an unknown key is an error, because a typo such as `egres:` must never silently
// leave a safety setting at a value the researcher did not intend.
import { z } from "zod";
import { parseDurationMs, parseSizeBytes, GiB, MiB } from "./units";

export const BACKENDS = ["aws", "gcp", "azure", "kubernetes", "local"] as const;
export type Backend = (typeof BACKENDS)[number];
export const CLOUD_BACKENDS: readonly Backend[] = ["aws", "gcp", "azure"];

export const CONFIDENTIAL_KINDS = ["none", "sev-snp", "tdx", "sev", "nitro-enclave"] as const;
export type ConfidentialKind = (typeof CONFIDENTIAL_KINDS)[number];

export const KILL_TRIGGERS = ["canary", "denied-egress", "pids-limit", "oom"] as const;
export type KillTrigger = (typeof KILL_TRIGGERS)[number];

export const LOCK_MODES = ["compliance", "governance", "none"] as const;

/** TTL bounds. The maximum can only be raised with `unsafe.allowLongTtl`. */
export const TTL_DEFAULT = "4h";
export const TTL_MIN_MS = 60_000;
export const TTL_MAX_MS = 24 * 3_600_000;
export const TTL_MAX_UNSAFE_MS = 7 * 24 * 3_600_000;

/** Canary files placed in the workload's home unless the spec lists its own. */
export const DEFAULT_CANARY_FILES = [".aws/credentials", ".ssh/id_ed25519", ".config/gcloud/application_default_credentials.json"];

// A DNS-label-like name: fits every cloud's naming rules (GCP: lowercase, ≤63 with suffixes) and host
// object names on the local backend.
const NAME_RE = /^[a-z][a-z0-9-]{0,22}[a-z0-9]$/;
// Custom messages are "<what is wrong>; <how to fix>" — validate.ts splits them into message and fix.
const nameField = () =>
  z.string().regex(NAME_RE, {
    error: "not a valid name; use 2-24 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-'",
  });

const durationString = z.string().refine((s) => parseDurationMs(s) !== undefined, {
  error: "not a duration; write it like 30m, 4h or 1h30m",
});
const sizeString = z.union([z.string(), z.number()]).refine((s) => parseSizeBytes(s) !== undefined, {
  error: "not a size; write it like 512MiB, 4GiB or 20GiB",
});
const port = z.number().int().min(1).max(65535);

/** How the egress gate reaches an allowed upstream. */
export const UPSTREAM_VIA = ["endpoint", "target", "address"] as const;

const egressEntry = z.strictObject({
  /** The upstream's name; also the gate listener's name and the name the workload uses. */
  name: nameField(),
  /**
   * endpoint: a cloud provider's private service endpoint (e.g. bedrock-runtime) inside the boundary;
   * target:   one of this sandbox's `targets`;
   * address:  a fixed host/IP. On clouds it must be private (RFC 1918) unless unsafe.allowInternet;
   *           on the local backend it is an address the host reaches (e.g. a model API on loopback).
   */
  via: z.enum(UPSTREAM_VIA),
  service: z.string().min(1).optional(),
  target: z.string().min(1).optional(),
  host: z.string().min(1).optional(),
  port,
  /** Port the workload connects to on the gate; defaults to `port`. */
  listenPort: port.optional(),
});

const targetEntry = z.strictObject({
  name: nameField(),
  /** Local backend: the command that serves the target (runs on the gate side of the boundary). */
  command: z.array(z.string()).min(1).optional(),
  /** Cloud backends: the image of the target instance or pod. */
  image: z.string().min(1).optional(),
  port,
  env: z.record(z.string(), z.string()).default({}),
});

const killRule = z.discriminatedUnion("on", [
  z.strictObject({ on: z.literal("canary") }),
  z.strictObject({ on: z.literal("denied-egress"), threshold: z.number().int().min(1).default(20) }),
  z.strictObject({ on: z.literal("pids-limit") }),
  z.strictObject({ on: z.literal("oom") }),
]);

export const DEFAULT_KILL_RULES: z.output<typeof killRule>[] = [
  { on: "canary" },
  { on: "denied-egress", threshold: 20 },
  { on: "pids-limit" },
  { on: "oom" },
];

/** Explicit opt-outs of safety defaults. Every one that is true is logged and reported as waived. */
export const UNSAFE_FLAGS = [
  "allowInternet", // a route to the internet (I1 waived)
  "allowPublicIp", // public IPs on the workload (I1/I3 waived)
  "allowMetadataV1", // IMDSv1 / unhardened metadata (I4 waived)
  "unlockedLogs", // logging.lockMode may be "none" (I5 waived)
  "allowLongTtl", // ttl up to 7d instead of 24h
  "runAsRoot", // workload.user may be root
  "noCanaries", // canaries.enabled may be false (I6 waived)
  "canaryAlertOnly", // canaries alert but do not kill
  "sharedKernel", // kubernetes: the workload may run under runc, sharing the node's kernel
] as const;
export type UnsafeFlag = (typeof UNSAFE_FLAGS)[number];

const unsafeBlock = z.strictObject(
  Object.fromEntries(UNSAFE_FLAGS.map((f) => [f, z.boolean().default(false)])) as Record<UnsafeFlag, z.ZodDefault<z.ZodBoolean>>,
);

/** Alert channels a spec may name (`alerts.<channel>`). */
export const ALERT_CHANNELS = ["email", "webhook"] as const;
export type AlertChannel = (typeof ALERT_CHANNELS)[number];
/** One plain address (what an SNS `email` subscription takes): no display name, no list. */
const ALERT_EMAIL_RE = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
function isHttpsUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === "https:" && u.hostname !== "" && u.username === "" && u.password === "";
  } catch {
    return false;
  }
}

export const sandboxSpecSchema = z.strictObject({
  name: nameField(),
  backend: z.enum(BACKENDS),
  /** Cloud region (aws/gcp/azure); the kube context's cluster for kubernetes; ignored by local. */
  region: z.string().min(1).optional(),
  /** Who is responsible for this sandbox; goes into the `airlock:owner` tag. */
  owner: z.string().regex(/^[A-Za-z0-9._@+-]{1,63}$/, { error: "not a valid owner; use 1-63 characters of letters, digits and . _ @ + - (e.g. alice@lab.org)" }),
  ttl: durationString.default(TTL_DEFAULT),
  workload: z.strictObject({
    cpus: z.number().positive().max(192).default(2),
    memory: sizeString.default("4GiB"),
    disk: sizeString.default("20GiB"),
    pids: z.number().int().min(16).max(1_000_000).default(512),
    /** Image: an AMI / GCE image / Azure image URN / container image; backend default if absent. */
    image: z.string().min(1).optional(),
    /** Backend-specific size override (EC2 instance type, GCE machine type, Azure VM size). */
    machineType: z.string().min(1).optional(),
    /** The workload's bootstrap command. */
    command: z.array(z.string()).min(1),
    user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: "not a valid user name; use a POSIX user name such as agent" }).default("agent"),
    env: z.record(z.string(), z.string()).default({}),
  }),
  confidential: z.enum(CONFIDENTIAL_KINDS).default("none"),
  network: z.strictObject({ cidr: z.string().default("10.77.0.0/16") }).default({ cidr: "10.77.0.0/16" }),
  egress: z.strictObject({ allow: z.array(egressEntry).default([]) }).default({ allow: [] }),
  targets: z.array(targetEntry).default([]),
  canaries: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Paths relative to the workload user's home. */
      files: z.array(z.string().min(1)).default(DEFAULT_CANARY_FILES),
      /** A fake cloud credential planted in the canary files; its use is detected. */
      credential: z.boolean().default(true),
    })
    .default({ enabled: true, files: DEFAULT_CANARY_FILES, credential: true }),
  killSwitch: z.strictObject({ rules: z.array(killRule).default(DEFAULT_KILL_RULES) }).default({ rules: DEFAULT_KILL_RULES }),
  logging: z
    .strictObject({
      retentionDays: z.number().int().min(1).max(3650).default(30),
      lockMode: z.enum(LOCK_MODES).default("compliance"),
    })
    .default({ retentionDays: 30, lockMode: "compliance" }),
  /**
   * Where a detection (canary use, a failed kill delivery) is also sent, besides the sandbox's own
   * alert channel and record. None by default; the kill path never depends on it (it is one more
   * target of the alert, not a step of the kill). Only backends that list the channel in their rules
   * (BackendRules.alertChannels) accept it: the others refuse it at validation, naming the backend.
   */
  alerts: z
    .strictObject({
      email: z.string().regex(ALERT_EMAIL_RE, { error: "not an e-mail address; write one address such as oncall@lab.org" }).optional(),
      webhook: z
        .string()
        .regex(/^https:\/\//, { error: "not an https:// URL; write https://host/path (plain http would carry the alert and the sandbox's id in clear)" })
        .refine(isHttpsUrl, { error: "not an https:// URL with a host (and no user:password@); write https://host/path" })
        .optional(),
    })
    .default({}),
  /** A chaos experiment (path relative to the spec file) run during `airlock run`. */
  chaos: z.strictObject({ experiment: z.string().min(1) }).optional(),
  /** Extra tags/labels added to every resource (Airlock's own keys cannot be overridden). */
  tags: z.record(z.string(), z.string()).default({}),
  unsafe: unsafeBlock.default(Object.fromEntries(UNSAFE_FLAGS.map((f) => [f, false])) as Record<UnsafeFlag, boolean>),
});

/** The spec as written (defaults optional). */
export type SandboxSpecInput = z.input<typeof sandboxSpecSchema>;
/** The spec after defaults; what every backend consumes. Use `normalize()` for derived numbers. */
export type SandboxSpecParsed = z.output<typeof sandboxSpecSchema>;
export type EgressEntry = SandboxSpecParsed["egress"]["allow"][number];
export type TargetEntry = SandboxSpecParsed["targets"][number];
export type KillRule = SandboxSpecParsed["killSwitch"]["rules"][number];

/** A validated spec with units resolved; the single shape every backend builds from. */
export interface SandboxSpec extends SandboxSpecParsed {
  ttlMs: number;
  workloadMemoryBytes: number;
  workloadDiskBytes: number;
  /** Egress entries with listenPort resolved. */
  egressResolved: (EgressEntry & { listenPort: number })[];
  /** The unsafe flags that are set, for logging and invariant waivers. */
  waived: UnsafeFlag[];
}

export function normalize(parsed: SandboxSpecParsed): SandboxSpec {
  return {
    ...parsed,
    ttlMs: parseDurationMs(parsed.ttl)!,
    workloadMemoryBytes: parseSizeBytes(parsed.workload.memory)!,
    workloadDiskBytes: parseSizeBytes(parsed.workload.disk)!,
    egressResolved: parsed.egress.allow.map((e) => ({ ...e, listenPort: e.listenPort ?? e.port })),
    waived: UNSAFE_FLAGS.filter((f) => parsed.unsafe[f]),
  };
}

export const LIMITS = { MiB, GiB };
