// The platform-enforced TTL: GCE itself deletes every instance at the sandbox's expiry, whatever
// happens inside it. `scheduling` (@pulumi/gcp 9.37 InstanceScheduling):
//   provisioningModel: STANDARD          explicit (gcloud refuses a termination action without it);
//   instanceTerminationAction: DELETE    the instance and its auto-delete boot disk go, not just stop;
//   terminationTime: <expiry, RFC 3339>  absolute, the same instant as the airlock-expires-at label
//                                        (the expiry kept in the stack's state, components/expiry.ts);
//   onHostMaintenance: TERMINATE, automaticRestart: false   no live migration, no restart after it.
//
// Why terminationTime and not maxRunDuration: both belong to the same feature ("the termination
// action ... will be performed at the termination time" / after the max run duration), but
// maxRunDuration counts from the instance's start and is reset by a stop/start (clouds.md §11), so a
// maintenance stop would extend the sandbox; terminationTime cannot drift and can be checked against
// the labels. Confidential VMs: the SDK documents no restriction between confidentialInstanceConfig
// and these fields, and Confidential VMs require TERMINATE on host maintenance, which this already is;
// SPOT / FLEX_START provisioning is never used. (clouds.md: "no conflict documented (UNVERIFIED)".)
// The in-guest timer (boot.ts) is the second, independent line: it powers the VM off at the TTL.
// These fields are ForceNew: re-running `pulumi up` with a new TTL (the one explicit extension)
// replaces the instances; re-running it with the same TTL keeps the expiry and changes nothing.
import type * as gcp from "@pulumi/gcp";
import type { GcpContext } from "./context";

/** RFC 3339 UTC without milliseconds. */
export function terminationTimeOf(expiresAt: Date): string {
  return expiresAt.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function platformTtl(ctx: GcpContext): gcp.types.input.compute.InstanceScheduling {
  return {
    provisioningModel: "STANDARD",
    instanceTerminationAction: "DELETE",
    terminationTime: ctx.expiresAt.apply((at) => terminationTimeOf(new Date(at))),
    onHostMaintenance: "TERMINATE",
    automaticRestart: false,
    preemptible: false,
  };
}
