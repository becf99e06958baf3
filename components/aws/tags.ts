// AWS's tagging: the shared transformation (components/cloud/tags.ts) with AWS's taggable types and
// fields — `tags`, and `volumeTags` on instances (the root volume is its own EC2 resource) — so every
// taggable resource carries the three sandbox labels plus the spec's extra tags.
import type * as pulumi from "@pulumi/pulumi";
import { labelTransformation as cloudLabelTransformation } from "../cloud/tags";
import { sandboxLabels, SandboxIdentity } from "../naming";
import { AWS_EXTRA_TAG_FIELDS, isAwsTaggable } from "./taggable";

export function labelTransformation(identity: SandboxIdentity, extra: Record<string, string>): pulumi.ResourceTransformation {
  return cloudLabelTransformation(sandboxLabels(identity, "tags", extra), isAwsTaggable, (type) => ["tags", ...(AWS_EXTRA_TAG_FIELDS[type] ?? [])]);
}
