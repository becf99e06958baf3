// The shape every backend's component shares: its arguments, the outputs it exports, and the base
// class that publishes them. A leaf module (it imports no backend), so each backend's component can
// extend it without importing the backend list (components/backends.ts) back.
import * as pulumi from "@pulumi/pulumi";
import type { SandboxSpec } from "./spec/schema";
import type { SandboxIdentity } from "./naming";

/** What every backend's component exposes; the same names in every cloud. */
export interface SandboxComponent extends pulumi.ComponentResource {
  /** The sandbox id (also the `airlock:sandbox` label value). */
  readonly sandboxId: pulumi.Output<string>;
  /** ISO time after which the platform or the sweeper removes the sandbox. */
  readonly expiresAt: pulumi.Output<string>;
  /** Where the immutable record is written (bucket URL, log path). */
  readonly recordLocation: pulumi.Output<string>;
  /** Gate listener address per allowed upstream name, as the workload sees it. */
  readonly gateEndpoints: pulumi.Output<Record<string, string>>;
}

export type SandboxOutputs = Pick<SandboxComponent, "sandboxId" | "expiresAt" | "recordLocation" | "gateEndpoints">;

export interface SandboxComponentArgs {
  spec: SandboxSpec;
  identity: SandboxIdentity;
}

/** How a backend's component is constructed (what a descriptor's `loadComponent` returns). */
export type SandboxFactory = (name: string, args: SandboxComponentArgs, opts?: pulumi.ComponentResourceOptions) => SandboxComponent;

/**
 * Base of every backend's component: one place decides which outputs a sandbox exports and
 * registers them, so `pulumi stack output` and the Automation API read the same names everywhere.
 */
export abstract class SandboxComponentBase extends pulumi.ComponentResource implements SandboxComponent {
  declare readonly sandboxId: pulumi.Output<string>;
  declare readonly expiresAt: pulumi.Output<string>;
  declare readonly recordLocation: pulumi.Output<string>;
  declare readonly gateEndpoints: pulumi.Output<Record<string, string>>;

  /** Call once, at the end of the backend's constructor. */
  protected publishOutputs(outputs: SandboxOutputs): void {
    Object.assign(this, outputs);
    this.registerOutputs(outputs);
  }
}
