// AWS's tagging: the shared transformation (components/cloud/tags.ts) with AWS's taggable types and
// fields — `tags`, and `volumeTags` on instances (the root volume is its own EC2 resource) — so every
// taggable resource carries the three sandbox labels plus the spec's extra tags.
import type * as pulumi from "@pulumi/pulumi";
import { labelTransformation as cloudLabelTransformation, type SandboxLabelsInput } from "../cloud/tags";
import { AWS_EXTRA_TAG_FIELDS, isAwsTaggable } from "./taggable";

/**
 * `labels` as the component gives them: a function read when each resource registers, after the
 * expiry resource exists (components/expiry.ts), so the expires-at tag does not change on every `up`
 * (a retag of the canary objects is a call on them).
 */
export function labelTransformation(labels: SandboxLabelsInput): pulumi.ResourceTransformation {
  return cloudLabelTransformation(labels, isAwsTaggable, (type) => ["tags", ...(AWS_EXTRA_TAG_FIELDS[type] ?? [])]);
}
