// One naming and labelling scheme for every backend. The same three facts go on every resource —
// which sandbox, when it expires, who owns it — so that a sweeper can find orphans in any cloud.
// Only the key syntax differs per platform (GCP labels allow no ':' and only lowercase; Kubernetes
// label keys take a DNS prefix), so the spelling is chosen by `LabelStyle`, never by ad-hoc code.
import * as crypto from "crypto";
import type { SandboxSpec } from "./spec/schema";

/** Every host or cloud object Airlock creates has a name starting with this. */
export const NAME_PREFIX = "airlock";

export type LabelStyle = "tags" | "gcp" | "kubernetes";

/** The three label concepts, spelt per platform. */
export const LABEL_KEYS: Record<LabelStyle, { sandbox: string; expiresAt: string; owner: string }> = {
  tags: { sandbox: "airlock:sandbox", expiresAt: "airlock:expires-at", owner: "airlock:owner" }, // AWS, Azure, local
  gcp: { sandbox: "airlock-sandbox", expiresAt: "airlock-expires-at", owner: "airlock-owner" },
  kubernetes: { sandbox: "airlock.dev/sandbox", expiresAt: "airlock.dev/expires-at", owner: "airlock.dev/owner" },
};

/** Sandbox identity fixed at provision time. */
export interface SandboxIdentity {
  /** Unique id; on clouds `<name>-<stack hash>`, locally `<name>-<random>`. */
  id: string;
  /** Absolute expiry (creation + ttl). */
  expiresAt: Date;
  owner: string;
}

export function identityFor(spec: SandboxSpec, opts: { now?: Date; uniqueSuffix?: string } = {}): SandboxIdentity {
  const now = opts.now ?? new Date();
  const suffix = opts.uniqueSuffix ?? crypto.randomBytes(3).toString("hex");
  return { id: `${spec.name}-${suffix}`, expiresAt: new Date(now.getTime() + spec.ttlMs), owner: spec.owner };
}

/** A stable short hash, for ids derived from e.g. the stack name. */
export function shortHash(text: string, length = 6): string {
  return crypto.createHash("sha256").update(text).digest("hex").slice(0, length);
}

/** Expiry in a form every platform accepts as a label value (GCP: no ':' and lowercase). */
export function expiryLabelValue(expiresAt: Date, style: LabelStyle): string {
  const iso = expiresAt.toISOString().replace(/\.\d{3}Z$/, "Z");
  return style === "tags" ? iso : iso.toLowerCase().replace(/:/g, "-");
}

function labelValue(value: string, style: LabelStyle): string {
  if (style === "tags") return value;
  // GCP and Kubernetes label values: [a-z0-9_.-], <= 63 chars (GCP: lowercase only).
  const cleaned = value.toLowerCase().replace(/[^a-z0-9_.-]/g, "_").slice(0, 63);
  return style === "kubernetes" ? cleaned.replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "") : cleaned;
}

/** The labels for every resource of a sandbox; the spec's extra `tags` come first and cannot override. */
export function sandboxLabels(identity: SandboxIdentity, style: LabelStyle, extra: Record<string, string> = {}): Record<string, string> {
  const keys = LABEL_KEYS[style];
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(extra)) out[style === "tags" ? k : labelValue(k, style)] = labelValue(v, style);
  out[keys.sandbox] = labelValue(identity.id, style);
  out[keys.expiresAt] = expiryLabelValue(identity.expiresAt, style);
  out[keys.owner] = labelValue(identity.owner, style);
  return out;
}

/** A resource name within a sandbox: `airlock-<id>-<part>`, trimmed to the platform's limit. */
export function resourceName(identity: SandboxIdentity | string, part: string, maxLength = 63): string {
  const id = typeof identity === "string" ? identity : identity.id;
  return boundedName(`${NAME_PREFIX}-${id}-${part}`, maxLength);
}

/**
 * `text` if it fits `maxLength`, else its head and a hash of the whole (unique when trimmed). Every
 * generated name of every backend passes through here with its provider's limit.
 */
export function boundedName(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  const h = shortHash(text, 6);
  return `${text.slice(0, maxLength - 7).replace(/-+$/, "")}-${h}`;
}

/**
 * The inverse of expiryLabelValue: the expiry a label says, or undefined when it is not one Airlock
 * wrote (a sweeper must then leave the resource alone rather than guess).
 */
export function parseExpiryLabel(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  // tags style: 2026-12-01T12:00:00Z; gcp / kubernetes style: 2026-12-01t12-00-00z.
  const m = /^(\d{4}-\d{2}-\d{2})t(\d{2})[:-](\d{2})[:-](\d{2})z$/i.exec(value.trim());
  if (!m) return undefined;
  const d = new Date(`${m[1]}T${m[2]}:${m[3]}:${m[4]}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
