// The one list of backends. Each entry is the descriptor its folder exports
// (components/<backend>/descriptor.ts, see components/backend-descriptor.ts); nothing in a backend
// folder imports this file, so the list can import them all without a cycle.
import type * as pulumi from "@pulumi/pulumi";
import type { Backend } from "./spec/schema";
import type { BackendDescriptor } from "./backend-descriptor";
import type { SandboxComponent, SandboxComponentArgs } from "./sandbox-base";
import { awsBackend } from "./aws/descriptor";
import { gcpBackend } from "./gcp/descriptor";
import { azureBackend } from "./azure/descriptor";
import { kubernetesBackend } from "./kubernetes/descriptor";
import { localBackend } from "./local/descriptor";

export const BACKEND_DESCRIPTORS: Readonly<Record<Backend, BackendDescriptor>> = {
  aws: awsBackend,
  gcp: gcpBackend,
  azure: azureBackend,
  kubernetes: kubernetesBackend,
  local: localBackend,
};

/** The descriptor of `backend`, or undefined for a name that is not a backend. */
export function descriptorOf(backend: string): BackendDescriptor | undefined {
  // Own keys only: a document's `backend: constructor` (or __proto__) must not find Object's members.
  return Object.prototype.hasOwnProperty.call(BACKEND_DESCRIPTORS, backend) ? (BACKEND_DESCRIPTORS as Record<string, BackendDescriptor>)[backend] : undefined;
}

export function allDescriptors(): BackendDescriptor[] {
  return Object.values(BACKEND_DESCRIPTORS);
}

/** Builds the sandbox of `args.spec.backend` (the component module is loaded only now). */
export function buildSandbox(name: string, args: SandboxComponentArgs, opts?: pulumi.ComponentResourceOptions): SandboxComponent {
  return descriptorOf(args.spec.backend)!.loadComponent()(name, args, opts);
}
