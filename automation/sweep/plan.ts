// What a sweep of one cloud would do, decided from the listing and the engine's stacks alone (no
// side effects), so `--dry-run` prints exactly what a real run acts on.
//
// A sandbox is swept when it is past its `expires-at` label; a stack of this backend is swept when its
// `expiresAt` output has passed, whether or not anything of its sandbox is still listed (a stack whose
// sandbox is gone — the platform TTL ended it — is cleaned out of the backend too). A stack that owns
// a sandbox (its `sandboxId` output equals the sandbox label) is destroyed through the engine; a
// sandbox no stack owns is deleted directly, resource by resource. The immutable record is never
// deleted directly: it is the evidence, and it is locked anyway.
import { LABEL_KEYS, parseExpiryLabel } from "../../components/naming";
import type { CloudBackend, CloudInventory, TaggedResource } from "./types";

export interface SandboxFinding {
  sandbox: string;
  /** The latest expiry any of its resources carries (never sweep before every piece has expired). */
  expiresAt?: string;
  expired: boolean;
  /** The owning stack, when the engine knows one. */
  stack?: string;
  action: "destroy-stack" | "delete-directly" | "keep";
  reason: string;
  resources: { id: string; type: string; keep?: string }[];
}

export interface StackFinding {
  stack: string;
  sandbox?: string;
  expiresAt?: string;
  action: "destroy-stack" | "keep";
  reason: string;
}

export interface SweepPlan {
  backend: CloudBackend;
  scope: string;
  now: string;
  sandboxes: SandboxFinding[];
  /** Stacks of this backend with no listed resources (their sandbox is gone, or not yet tagged). */
  stacks: StackFinding[];
}

export interface StackInfo {
  name: string;
  outputs: Record<string, unknown>;
}

/** Label keys that mark a resource's role, in every label style. */
const ROLE_KEYS = ["airlock:role", "airlock-role", "airlock.dev/role"];

/** Why a resource must never be deleted directly, if it must not. */
export function keepReason(r: TaggedResource): string | undefined {
  const role = ROLE_KEYS.map((k) => r.labels[k]).find(Boolean);
  if (role === "record") return "the immutable record (evidence): kept; its retention lock ends it";
  // Retained on destroy when locked (what the sandbox installed, and its canaries): its objects
  // cannot be deleted before their retention ends, so a direct deletion could only fail, every sweep.
  if (role === "artifacts") return "the artifacts store (what the sandbox installed; retention-locked unless lockMode was none): kept; delete it by hand once its retention has ended";
  return undefined;
}

function stackOf(stacks: StackInfo[], backend: CloudBackend, sandbox: string): StackInfo | undefined {
  return stacks.find((s) => s.outputs.sandboxId === sandbox && (s.outputs.backend === undefined || s.outputs.backend === backend));
}

export function planSweep(inv: Pick<CloudInventory, "backend" | "labelStyle" | "scope">, resources: TaggedResource[], stacks: StackInfo[], now: Date): SweepPlan {
  const keys = LABEL_KEYS[inv.labelStyle];
  const bySandbox = new Map<string, TaggedResource[]>();
  for (const r of resources) {
    const id = r.labels[keys.sandbox];
    if (!id) continue;
    bySandbox.set(id, [...(bySandbox.get(id) ?? []), r]);
  }

  const sandboxes: SandboxFinding[] = [];
  for (const [sandbox, rs] of [...bySandbox.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const expiries = rs.map((r) => parseExpiryLabel(r.labels[keys.expiresAt]));
    const listed = rs.map((r) => ({ id: r.id, type: r.type, ...(keepReason(r) ? { keep: keepReason(r) } : {}) }));
    const owner = stackOf(stacks, inv.backend, sandbox);
    if (expiries.some((e) => e === undefined)) {
      const bad = rs.filter((_, i) => !expiries[i]).map((r) => `${r.id} (${keys.expiresAt}=${r.labels[keys.expiresAt] ?? "missing"})`);
      sandboxes.push({ sandbox, expired: false, stack: owner?.name, action: "keep", reason: `no readable ${keys.expiresAt} label on ${bad.join(", ")}: left alone; check it by hand`, resources: listed });
      continue;
    }
    const latest = new Date(Math.max(...expiries.map((e) => e!.getTime())));
    const expired = latest.getTime() <= now.getTime();
    const base = { sandbox, expiresAt: latest.toISOString(), expired, stack: owner?.name, resources: listed };
    if (!expired) sandboxes.push({ ...base, action: "keep", reason: `expires ${latest.toISOString()}` });
    else if (owner) sandboxes.push({ ...base, action: "destroy-stack", reason: `expired ${latest.toISOString()}; owned by stack '${owner.name}'` });
    // What a destroy retains by design (the record, a locked artifacts store) is all that is left:
    // nothing to delete, but listed, so that it can be removed by hand after its retention.
    else if (listed.every((r) => r.keep)) sandboxes.push({ ...base, action: "keep", reason: `expired ${latest.toISOString()}; only what is retained by design is left (${listed.length} store(s)): delete each by hand once its retention has ended` });
    else sandboxes.push({ ...base, action: "delete-directly", reason: `expired ${latest.toISOString()}; no stack owns it` });
  }

  const listedSandboxes = new Set(bySandbox.keys());
  const stackFindings: StackFinding[] = [];
  for (const s of stacks) {
    const sandbox = typeof s.outputs.sandboxId === "string" ? s.outputs.sandboxId : undefined;
    if (s.outputs.backend !== inv.backend || (sandbox && listedSandboxes.has(sandbox))) continue;
    const expiry = typeof s.outputs.expiresAt === "string" ? new Date(s.outputs.expiresAt) : undefined;
    const base = { stack: s.name, sandbox, expiresAt: expiry?.toISOString() };
    if (!expiry || Number.isNaN(expiry.getTime())) stackFindings.push({ ...base, action: "keep", reason: "no expiresAt output: not a sandbox stack Airlock can judge; left alone" });
    else if (expiry.getTime() <= now.getTime()) stackFindings.push({ ...base, action: "destroy-stack", reason: `its sandbox is gone from ${inv.scope} and it expired ${expiry.toISOString()}` });
    else stackFindings.push({ ...base, action: "keep", reason: `nothing listed yet (tags can take minutes to be searchable); expires ${expiry.toISOString()}` });
  }
  return { backend: inv.backend, scope: inv.scope, now: now.toISOString(), sandboxes, stacks: stackFindings };
}
