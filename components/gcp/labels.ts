// Which @pulumi/gcp resource types take labels, and in which field. Pure data, shared by the label
// transformation (component.ts) and the I7 facts (facts.ts).
//
// The list is of the types that do NOT take labels: every other `gcp:` type is treated as labelled
// (field `labels`), so a type added to the component later is labelled — and checked — unless someone
// states here that it cannot be. test/gcp-labels.test.ts checks this list against the @pulumi/gcp
// 9.37 `.d.ts` files for every type the component registers.
import { labelTransformation, type SandboxLabelsInput } from "../cloud/tags";
import type * as pulumi from "@pulumi/pulumi";

/** Types whose Args have no `labels` (nor `userLabels`) property (@pulumi/gcp 9.37.0). */
export const GCP_UNLABELLED_TYPES: ReadonlySet<string> = new Set([
  "gcp:compute/network:Network",
  "gcp:compute/subnetwork:Subnetwork",
  "gcp:compute/firewall:Firewall",
  "gcp:compute/route:Route",
  "gcp:dns/recordSet:RecordSet",
  "gcp:dns/responsePolicy:ResponsePolicy",
  "gcp:dns/responsePolicyRule:ResponsePolicyRule",
  "gcp:storage/bucketObject:BucketObject",
  "gcp:storage/bucketIAMMember:BucketIAMMember",
  "gcp:serviceaccount/account:Account",
  "gcp:serviceaccount/key:Key",
  "gcp:serviceaccount/iAMMember:IAMMember",
  "gcp:logging/projectSink:ProjectSink",
  "gcp:projects/iAMMember:IAMMember",
  "gcp:projects/iAMAuditConfig:IAMAuditConfig",
  "gcp:projects/iAMCustomRole:IAMCustomRole",
  "gcp:pubsub/topicIAMMember:TopicIAMMember",
  "gcp:compute/instanceIAMMember:InstanceIAMMember",
  "gcp:vertex/aiEndpointIamMember:AiEndpointIamMember",
]);

/** Types whose label field is not `labels`. */
const OTHER_LABEL_FIELD: Readonly<Record<string, string>> = {
  "gcp:monitoring/alertPolicy:AlertPolicy": "userLabels",
};

/** Nested label fields that must carry the labels too (the boot disk is its own GCE resource). */
const NESTED_LABEL_FIELDS: Readonly<Record<string, readonly string[]>> = {
  "gcp:compute/instance:Instance": ["bootDisk.initializeParams.labels"],
};

export function isGcpLabelled(type: string): boolean {
  return type.startsWith("gcp:") && !GCP_UNLABELLED_TYPES.has(type);
}

/** Top-level label fields of a type (what the I7 check reads). */
export function gcpLabelFields(type: string): readonly string[] {
  return isGcpLabelled(type) ? [OTHER_LABEL_FIELD[type] ?? "labels"] : [];
}

/** Airlock-only label naming what a resource is for (workload, gate, target, record, artifacts). */
export const GCP_ROLE_LABEL = "airlock-role";

/**
 * The sandbox labels (GCP spelling: lowercase, no ':') on every labelled resource of the sandbox;
 * the component passes them at the expiry kept in the stack's state (components/expiry.ts).
 */
export function gcpLabelTransformation(labels: SandboxLabelsInput): pulumi.ResourceTransformation {
  return labelTransformation(labels, isGcpLabelled, (type) => [...gcpLabelFields(type), ...(NESTED_LABEL_FIELDS[type] ?? [])]);
}
