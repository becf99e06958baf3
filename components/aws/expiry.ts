// The sandbox's expiry, computed once at creation and kept in the stack's state (issue 8 §1.3). The
// program computes "now + ttl" on every run; taking that would move the TTL schedule and retag every
// resource (the canary objects included) on every `pulumi up`. Same rule as the local backend's
// check() (components/local/component.ts): the first expiry is kept. A changed spec TTL is the one
// explicit extension, and it is recorded in the resource's state (`extensions`).
import * as pulumi from "@pulumi/pulumi";

export interface ExpiryInputs {
  /** The spec's TTL in milliseconds. */
  ttlMs: number;
  /** This run's "now + ttl": taken only at creation or when the TTL changed. */
  proposed: string;
  expiresAt?: string;
  extensions?: { at: string; fromTtlMs: number; toTtlMs: number; expiresAt: string }[];
}

/** The engine's check(olds, news): keep the stored expiry unless the TTL changed (then extend, and record it). */
export function keepExpiry(olds: Partial<ExpiryInputs> | undefined, news: ExpiryInputs): ExpiryInputs {
  // news.expiresAt is the program's proposal (so a run without state, e.g. under mocks, has one).
  if (!olds?.expiresAt) return { ...news, expiresAt: news.proposed, extensions: [] };
  if (olds.ttlMs === news.ttlMs) return { ...news, expiresAt: olds.expiresAt, extensions: olds.extensions ?? [] };
  const extension = { at: new Date().toISOString(), fromTtlMs: olds.ttlMs!, toTtlMs: news.ttlMs, expiresAt: news.proposed };
  return { ...news, expiresAt: news.proposed, extensions: [...(olds.extensions ?? []), extension] };
}

const expiryProvider: pulumi.dynamic.ResourceProvider = {
  async check(olds: any, news: any) {
    return { inputs: keepExpiry(olds, news) };
  },
  async diff(_id: string, olds: any, news: any) {
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
  constructor(name: string, args: { ttlMs: number; proposed: Date }, opts?: pulumi.CustomResourceOptions) {
    super(expiryProvider, name, { ttlMs: args.ttlMs, proposed: args.proposed.toISOString(), expiresAt: args.proposed.toISOString(), extensions: [] }, opts, "airlock", "SandboxExpiry");
  }
}
