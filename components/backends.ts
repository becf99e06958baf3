// Backend registry: spec.backend -> the component that builds it. Each backend is loaded lazily so a
// local run never loads a cloud SDK, and a cloud stack never loads host tooling.
import * as pulumi from "@pulumi/pulumi";
import type { SandboxSpec, Backend } from "./spec/schema";
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

export interface SandboxComponentArgs {
  spec: SandboxSpec;
  identity: SandboxIdentity;
}

type Factory = (name: string, args: SandboxComponentArgs, opts?: pulumi.ComponentResourceOptions) => SandboxComponent;

const FACTORIES: Record<Backend, () => Factory> = {
  aws: () => (name, args, opts) => new (require("./aws").AwsSandbox)(name, args, opts),
  local: () => (name, args, opts) => new (require("./local/pulumi").LocalSandbox)(name, args, opts),
  gcp: () => (name, args, opts) => new (require("./gcp").GcpSandbox)(name, args, opts),
  azure: () => notYet("azure"),
  kubernetes: () => notYet("kubernetes"),
};

function notYet(backend: Backend): never {
  throw new Error(`backend '${backend}' is designed in the spec but its component has not landed yet; use aws or local for now`);
}

export function buildSandbox(name: string, args: SandboxComponentArgs, opts?: pulumi.ComponentResourceOptions): SandboxComponent {
  return FACTORIES[args.spec.backend]()(name, args, opts);
}
