// The labelling transformation for any cloud whose resources take a map of labels: every resource
// the component registers (its children inherit the transformation) gets the sandbox's labels from
// the shared naming module, last, so no resource's own labels (e.g. airlock:role) can override them.
// A transformation rather than provider default tags because it runs in this process: the labels
// are in each resource's own inputs — what `pulumi preview` shows, what a policy pack sees and what
// the mock runtime records for `airlock check`.
import * as pulumi from "@pulumi/pulumi";

export function labelTransformation(labels: Record<string, string>, isTaggable: (type: string) => boolean, fieldsOf: (type: string) => readonly string[]): pulumi.ResourceTransformation {
  return ({ type, props, opts }) => {
    if (!isTaggable(type)) return undefined;
    const out: Record<string, unknown> = { ...props };
    for (const field of fieldsOf(type)) out[field] = pulumi.output(props[field] ?? {}).apply((own: Record<string, string>) => ({ ...own, ...labels }));
    return { props: out, opts };
  };
}
