// One way to put the sandbox labels on every resource of a backend: a transformation on the
// component that its children inherit, so no module can forget it. A transformation (not a provider's
// default labels) because it runs in this process: the labels are in each resource's own inputs —
// what `pulumi preview` shows, what a policy pack sees and what the mock runtime records for
// `airlock check`. Each backend says which input fields of which types carry labels.
import * as pulumi from "@pulumi/pulumi";

/** Input fields (dot paths into the resource's args) that carry labels for a type; empty = none. */
export type LabelFieldsOf = (type: string) => readonly string[];

function mergeAt(props: Record<string, any>, path: string[], labels: Record<string, string>): Record<string, any> {
  const [head, ...rest] = path;
  if (rest.length === 0) return { ...props, [head]: pulumi.output(props[head] ?? {}).apply((own: Record<string, string>) => ({ ...own, ...labels })) };
  // Nested fields (e.g. a boot disk's initializeParams.labels) only where the parent object is given.
  if (props[head] === undefined) return props;
  return { ...props, [head]: pulumi.output(props[head]).apply((inner: Record<string, any>) => mergeAt(inner ?? {}, rest, labels)) };
}

/** Labels last: a resource's own labels (e.g. its role) cannot override the sandbox's. */
export function labelTransformation(labels: Record<string, string>, fieldsOf: LabelFieldsOf): pulumi.ResourceTransformation {
  return ({ type, props, opts }) => {
    const fields = fieldsOf(type);
    if (fields.length === 0) return undefined;
    let out: Record<string, any> = { ...props };
    for (const field of fields) out = mergeAt(out, field.split("."), labels);
    return { props: out, opts };
  };
}
