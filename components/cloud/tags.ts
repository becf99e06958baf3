// The one labelling transformation for every cloud whose resources take maps of labels (AWS tags,
// Azure tags, GCP labels): every resource the component registers (its children inherit the
// transformation) gets the sandbox's labels from the shared naming module, last, so no resource's
// own labels (e.g. airlock:role) can override them. A transformation rather than provider default
// tags because it runs in this process: the labels are in each resource's own inputs — what
// `pulumi preview` shows, what a policy pack sees and what the mock runtime records for
// `airlock check`. Each backend says only which types are labelled and in which input fields.
import * as pulumi from "@pulumi/pulumi";

/** Input fields of a type that carry labels, as dot paths into its args (e.g. GCP's boot disk `bootDisk.initializeParams.labels`). */
export type LabelFieldsOf = (type: string) => readonly string[];

/**
 * The labels, or a function read when each resource registers: the expiry label comes from the
 * expiry kept in the stack's state (components/expiry.ts), which exists only after the component's
 * constructor has installed this transformation.
 */
export type SandboxLabelsInput = Record<string, string> | (() => pulumi.Input<Record<string, string>>);

function mergeAt(props: Record<string, any>, path: string[], labels: pulumi.Input<Record<string, string>>): Record<string, any> {
  const [head, ...rest] = path;
  if (rest.length === 0) return { ...props, [head]: pulumi.all([props[head] ?? {}, labels]).apply(([own, ours]: [Record<string, string>, Record<string, string>]) => ({ ...own, ...ours })) };
  // Nested fields only where the parent object is given: the transformation labels what a resource
  // declares, it does not invent a boot disk block (that would change the resource's shape).
  if (props[head] === undefined) return props;
  return { ...props, [head]: pulumi.output(props[head]).apply((inner: Record<string, any>) => mergeAt(inner ?? {}, rest, labels)) };
}

export function labelTransformation(labels: SandboxLabelsInput, isTaggable: (type: string) => boolean, fieldsOf: LabelFieldsOf): pulumi.ResourceTransformation {
  return ({ type, props, opts }) => {
    if (!isTaggable(type)) return undefined;
    const ours = typeof labels === "function" ? labels() : labels;
    let out: Record<string, any> = { ...props };
    for (const field of fieldsOf(type)) out = mergeAt(out, field.split("."), ours);
    return { props: out, opts };
  };
}
