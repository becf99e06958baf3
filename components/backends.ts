// Backend registry: spec.backend -> the component that builds it. Each backend is loaded lazily so a
// local run never loads a cloud SDK, and a cloud stack never loads host tooling.
import type * as pulumi from "@pulumi/pulumi";
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

export interface SandboxComponentArgs {
  spec: SandboxSpec;
  identity: SandboxIdentity;
}

type Factory = (name: string, args: SandboxComponentArgs, opts?: pulumi.ComponentResourceOptions) => SandboxComponent;

const FACTORIES: Record<Backend, () => Factory> = {
  aws: () => (name, args, opts) => new (require("./aws").AwsSandbox)(name, args, opts),
  local: () => (name, args, opts) => new (require("./local/pulumi").LocalSandbox)(name, args, opts),
  gcp: () => notYet("gcp"),
  azure: () => notYet("azure"),
  kubernetes: () => notYet("kubernetes"),
};

function notYet(backend: Backend): never {
  throw new Error(`backend '${backend}' is designed in the spec but its component has not landed yet; use aws or local for now`);
}

export function buildSandbox(name: string, args: SandboxComponentArgs, opts?: pulumi.ComponentResourceOptions): SandboxComponent {
  return FACTORIES[args.spec.backend]()(name, args, opts);
}
