// The sandbox's expiry, computed once at creation and kept in the stack's state (issue 8 §1.3), for
// every Pulumi backend that labels or schedules by an absolute instant (AWS, GCP, Azure, Kubernetes).
// The program computes "now + ttl" on every run (naming.ts identityFor); taking that would move the
// platform TTL (AWS's schedule, GCE's terminationTime — ForceNew, so every instance replaced —, Azure's
// reaper) and relabel every resource (the canary objects included: a call on them) on every `pulumi
// up`, and a re-run would quietly extend the sandbox. Same rule as the local backend's check()
// (components/local/component.ts): the first expiry is kept. A changed spec TTL is the one explicit
// extension, and it is recorded in the resource's state (`extensions`).
//
// How: a dynamic resource whose check(olds, news) — the engine passes the stored inputs as `olds` —
// keeps the stored expiry. Its output is what every label, deadline and the `expiresAt` stack output
// read; `identity.expiresAt` is only this run's proposal and must not reach a resource.
import * as pulumi from "@pulumi/pulumi";
import { sandboxLabels, type LabelStyle, type SandboxIdentity } from "./naming";

export interface ExpiryExtension {
  at: string;
  fromTtlMs: number;
  toTtlMs: number;
  expiresAt: string;
}

export interface ExpiryInputs {
  /** The spec's TTL in milliseconds. */
  ttlMs: number;
  /** This run's "now + ttl": taken only at creation or when the TTL changed. */
  proposed: string;
  expiresAt?: string;
  extensions?: ExpiryExtension[];
}

/** The dynamic resource's type token (its URN must not change: a new URN is a new expiry). */
export const EXPIRY_MODULE = "airlock";
export const EXPIRY_TYPE_NAME = "SandboxExpiry";
export const SANDBOX_EXPIRY_TYPE = `pulumi-nodejs:dynamic/${EXPIRY_MODULE}:${EXPIRY_TYPE_NAME}`;

/** The engine's check(olds, news): keep the stored expiry unless the TTL changed (then extend, and record it). */
export function keepExpiry(olds: Partial<ExpiryInputs> | undefined, news: ExpiryInputs, now: () => Date = () => new Date()): ExpiryInputs {
  // news.expiresAt is the program's proposal (so a run without state, e.g. under mocks, has one).
  if (!olds?.expiresAt) return { ...news, expiresAt: news.proposed, extensions: [] };
  if (olds.ttlMs === news.ttlMs) return { ...news, expiresAt: olds.expiresAt, extensions: olds.extensions ?? [] };
  const extension: ExpiryExtension = { at: now().toISOString(), fromTtlMs: olds.ttlMs!, toTtlMs: news.ttlMs, expiresAt: news.proposed };
  return { ...news, expiresAt: news.proposed, extensions: [...(olds.extensions ?? []), extension] };
}

export const expiryProvider: pulumi.dynamic.ResourceProvider = {
  async check(olds: any, news: any) {
    return { inputs: keepExpiry(olds, news) };
  },
  async diff(_id: string, olds: any, news: any) {
    // `proposed` moves on every run and is not a change by itself.
    return { changes: olds.expiresAt !== news.expiresAt || olds.ttlMs !== news.ttlMs };
  },
  async create(inputs: any) {
    return { id: `expiry-${inputs.proposed}`, outs: inputs };
  },
  async update(_id: string, _olds: any, news: any) {
    return { outs: news };
  },
};

export class SandboxExpiry extends pulumi.dynamic.Resource {
  declare readonly expiresAt: pulumi.Output<string>;
  declare readonly extensions: pulumi.Output<ExpiryExtension[]>;
  constructor(name: string, args: { ttlMs: number; proposed: Date }, opts?: pulumi.CustomResourceOptions) {
    const proposed = args.proposed.toISOString();
    super(expiryProvider, name, { ttlMs: args.ttlMs, proposed, expiresAt: proposed, extensions: [] }, opts, EXPIRY_MODULE, EXPIRY_TYPE_NAME);
  }
}

/**
 * A component's kept expiry. A component installs its label transformation in its constructor's
 * super() call, before it can register the expiry resource (its first child); the transformation
 * reads `labels()` lazily, when each later resource registers.
 */
export class KeptExpiry {
  private output?: pulumi.Output<string>;

  /** Registers the expiry resource `<name>-expiry` under `parent`; call before any labelled resource. */
  keep(name: string, args: { ttlMs: number; identity: SandboxIdentity }, parent: pulumi.Resource): pulumi.Output<string> {
    if (this.output) throw new Error(`the expiry of ${name} is already kept (components/expiry.ts)`);
    this.output = new SandboxExpiry(`${name}-expiry`, { ttlMs: args.ttlMs, proposed: args.identity.expiresAt }, { parent }).expiresAt;
    return this.output;
  }

  /** The kept expiry (ISO 8601). */
  get expiresAt(): pulumi.Output<string> {
    if (!this.output) throw new Error("a resource read the sandbox's expiry before it was kept: register the expiry first (KeptExpiry.keep, components/expiry.ts)");
    return this.output;
  }

  /** The sandbox labels at the kept expiry, for a label transformation (read at registration). */
  labels(identity: SandboxIdentity, style: LabelStyle, extra: Record<string, string> = {}): () => pulumi.Output<Record<string, string>> {
    let labels: pulumi.Output<Record<string, string>> | undefined;
    return () => (labels ??= labelsAt(identity, style, extra, this.expiresAt));
  }
}

/** The sandbox's labels with `expiresAt` as the expiry. */
export function labelsAt(identity: SandboxIdentity, style: LabelStyle, extra: Record<string, string>, expiresAt: pulumi.Input<string>): pulumi.Output<Record<string, string>> {
  return pulumi.output(expiresAt).apply((at) => sandboxLabels({ ...identity, expiresAt: new Date(at) }, style, extra));
}
