// The opening every VM backend's component shares (AWS, GCP, Azure): refuse a spec the backend
// cannot build before anything is registered, install the label transformation in the super() call
// (so every child is labelled), then keep the expiry as the first child. A leaf module: it imports no
// backend, so each backend's component.ts extends it without a cycle.
import * as pulumi from "@pulumi/pulumi";
import { SandboxComponentArgs, SandboxComponentBase } from "../sandbox-base";
import { KeptExpiry } from "../expiry";
import type { LabelStyle } from "../naming";
import type { SandboxSpec } from "../spec/schema";
import type { SandboxLabelsInput } from "./tags";

/** What differs per cloud in the opening: its buildability check and how it writes labels. */
export interface VmSandboxOpening {
  /** Throws, naming the field and the fix, for a spec this backend cannot build. */
  assertBuildable(spec: SandboxSpec): void;
  labelStyle: LabelStyle;
  labelTransformation(labels: SandboxLabelsInput): pulumi.ResourceTransformation;
}

export abstract class VmSandboxBase extends SandboxComponentBase {
  /**
   * Fixed at creation, kept in the stack's state (components/expiry.ts): every label and every
   * platform deadline read it, so a second `up` neither relabels nor replaces anything.
   */
  protected readonly keptExpiresAt: pulumi.Output<string>;

  protected constructor(type: string, name: string, args: SandboxComponentArgs, opening: VmSandboxOpening, opts: pulumi.ComponentResourceOptions = {}) {
    const expiry = new KeptExpiry();
    opening.assertBuildable(args.spec);
    const labels = opening.labelTransformation(expiry.labels(args.identity, opening.labelStyle, args.spec.tags));
    super(type, name, {}, { ...opts, transformations: [labels, ...(opts.transformations ?? [])] });
    this.keptExpiresAt = expiry.keep(name, { ttlMs: args.spec.ttlMs, identity: args.identity }, this);
  }
}
