// AWS's tagging: the shared transformation (components/cloud/tags.ts) with AWS's taggable types and
// fields — `tags`, and `volumeTags` on instances (the root volume is its own EC2 resource) — so every
// taggable resource carries the three sandbox labels plus the spec's extra tags.
import * as pulumi from "@pulumi/pulumi";
import { labelTransformation as cloudLabelTransformation } from "../cloud/tags";
import { expiryLabelValue, LABEL_KEYS, sandboxLabels, SandboxIdentity } from "../naming";
import { AWS_EXTRA_TAG_FIELDS, isAwsTaggable } from "./taggable";

/**
 * `expiresAt()` gives the expiry kept in the stack's state (expiry.ts), so the expires-at label does
 * not change on every `up` (a retag of the canary objects is a call on them); it is read when an AWS
 * resource registers, after the expiry resource exists.
 */
export function labelTransformation(identity: SandboxIdentity, extra: Record<string, string>, expiresAt: () => pulumi.Input<string> = () => identity.expiresAt.toISOString()): pulumi.ResourceTransformation {
  const fields = (type: string) => ["tags", ...(AWS_EXTRA_TAG_FIELDS[type] ?? [])];
  const shared = cloudLabelTransformation(sandboxLabels(identity, "tags", extra), isAwsTaggable, fields);
  return (args) => {
    const r = shared(args);
    if (!r) return r;
    const props: Record<string, any> = { ...r.props };
    const key = LABEL_KEYS.tags.expiresAt;
    for (const f of fields(args.type)) props[f] = pulumi.all([props[f], expiresAt()]).apply(([t, at]: [Record<string, string>, string]) => ({ ...t, [key]: expiryLabelValue(new Date(at), "tags") }));
    return { props, opts: r.opts };
  };
}
