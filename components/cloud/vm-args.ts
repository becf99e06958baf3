// What every VM backend builds its gate and workload instances from. The stores are the same two in
// every cloud (artifacts to install from, record to write the journal to), passed by name so the
// instance's boot script can reach them; only the network and identity types are per cloud.
import type * as pulumi from "@pulumi/pulumi";

/** A gate or workload instance: its network, its identity and the two stores it reads from and writes to. */
export interface VmInstanceArgs<Net, Identity> {
  net: Net;
  identity: Identity;
  logBucket: pulumi.Input<string>;
  /** The artifacts store: the gate's Toxiproxy and the workload's guest guard are installed from it. */
  artifactsBucket: pulumi.Input<string>;
  dependsOn?: pulumi.Resource[];
}

/** The workload adds its canary files and the expiry its in-guest timer enforces. */
export interface VmWorkloadArgs<Net, Identity> extends VmInstanceArgs<Net, Identity> {
  /** Canary files (path relative to home -> content); empty when canaries are off. */
  homeFiles: pulumi.Input<Record<string, string>>;
  /** The sandbox's expiry as kept in the stack's state (default: this deployment's identity). */
  expiresAt?: pulumi.Input<string>;
}
