// Every taggable resource of the sandbox carries the three labels (sandbox id, expiry, owner) plus
// the spec's extra tags. Done once, by a transformation on the component that its children inherit,
// so no module can forget it. A transformation (not the provider's defaultTags) because it runs in
// this process: the labels are in each resource's own inputs — what `pulumi preview` shows, what a
// policy pack sees and what the mock runtime records for `airlock check`.
import * as pulumi from "@pulumi/pulumi";
import { sandboxLabels, SandboxIdentity } from "../naming";
import { AWS_EXTRA_TAG_FIELDS, isAwsTaggable } from "./taggable";

export function labelTransformation(identity: SandboxIdentity, extra: Record<string, string>): pulumi.ResourceTransformation {
  const labels = sandboxLabels(identity, "tags", extra);
  return ({ type, props, opts }) => {
    if (!isAwsTaggable(type)) return undefined;
    const out: Record<string, unknown> = { ...props };
    for (const field of ["tags", ...(AWS_EXTRA_TAG_FIELDS[type] ?? [])]) {
      // Labels last: a resource's own tags (e.g. airlock:role) cannot override them.
      out[field] = pulumi.output(props[field] ?? {}).apply((own: Record<string, string>) => ({ ...own, ...labels }));
    }
    return { props: out, opts };
  };
}
