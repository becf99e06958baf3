// Calls the CrossGuard policies directly, as the analyzer host would (never starting the pack's
// server), on resources shaped like the engine sends them: built from a mock graph, with the
// property dependencies the engine would record, after an update the outputs (bridged providers'
// outputs carry `id`) (a property whose value is another resource's id)
// and, for a preview, those references still unknown — at whatever depth they sit in the property,
// as the engine sends them — and no computed outputs.
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import type { GraphNode, ResourceGraph } from "../../components/invariants/graph";
import { airlockPolicies, PolicyOptions } from "../../policy/policies";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const UNKNOWN_STRING: string = require("@pulumi/policy/proxy").unknownStringValue;

export type Phase = "up" | "preview";

/**
 * Where another resource's output sits in a node's inputs: a string leaf, at any depth, equal to the
 * id or an identity-shaped computed output (a state value the resource was not given as input: a
 * selfLink, an email, an ARN) of exactly one other custom resource. The engine records a reference per top-level
 * property (propertyDependencies) whatever the depth of the value inside it, and at a preview the
 * value itself is unknown wherever it sits.
 */
function referenceIndex(graph: ResourceGraph): Map<string, GraphNode> {
  const owners = new Map<string, Set<GraphNode>>();
  const add = (v: unknown, n: GraphNode) => {
    if (typeof v !== "string" || v === "") return;
    (owners.get(v) ?? owners.set(v, new Set()).get(v)!).add(n);
  };
  // A computed output counts as an identity only when it is shaped like one (an ARN, a selfLink, an
  // email, a DNS name, a GUID such as an Azure identity's principalId): a computed "workload" or
  // "Standard" equal to some tag is no reference.
  const identityShaped = (v: unknown) => typeof v === "string" && (/[:/@.]/.test(v) || /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v));
  for (const n of graph.nodes.filter((x) => x.custom)) {
    add(n.id, n);
    for (const [k, v] of Object.entries(n.state ?? {})) if (!(k in n.inputs) && identityShaped(v)) add(v, n);
  }
  return new Map([...owners].filter(([, ns]) => ns.size === 1).map(([v, ns]) => [v, [...ns][0]]));
}

/** The top-level property's value with every reference leaf replaced, and the resources referenced (in order of appearance). */
function blankReferences(v: any, refs: Map<string, GraphNode>, self: GraphNode, blank: (leaf: string) => any): { value: any; targets: GraphNode[] } {
  const targets: GraphNode[] = [];
  const walk = (x: any): any => {
    if (typeof x === "string") {
      const t = refs.get(x);
      if (!t || t === self) return x;
      if (!targets.includes(t)) targets.push(t);
      return blank(x);
    }
    if (Array.isArray(x)) return x.map(walk);
    if (x && typeof x === "object") return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y)]));
    return x;
  };
  return { value: walk(v), targets };
}

export function engineResources(graph: ResourceGraph, phase: Phase): PolicyResource[] {
  const refs = referenceIndex(graph);
  const out = new Map<string, PolicyResource>();
  for (const n of graph.nodes) {
    const deps: Record<string, GraphNode[]> = {};
    const props: Record<string, any> = JSON.parse(JSON.stringify(phase === "up" ? { ...n.state, ...n.inputs, ...(n.id ? { id: n.id } : {}) } : n.inputs));
    for (const [k, v] of Object.entries(n.inputs)) {
      const { value, targets } = blankReferences(v, refs, n, (leaf) => (phase === "preview" ? UNKNOWN_STRING : leaf));
      if (targets.length === 0) continue;
      deps[k] = targets;
      if (phase === "preview") props[k] = value;
    }
    out.set(n.urn, {
      type: n.type,
      name: n.name,
      urn: n.urn,
      props,
      opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [], parent: n.parent },
      provider: n.custom ? { type: "pulumi:providers:x", props: {}, urn: "urn:provider", name: "default" } : undefined,
      dependencies: [],
      propertyDependencies: deps as any,
      isType: () => false,
      asType: () => undefined,
    } as PolicyResource);
  }
  for (const n of graph.nodes) {
    const r = out.get(n.urn)! as any;
    r.parent = n.parent ? out.get(n.parent) : undefined;
    r.propertyDependencies = Object.fromEntries(Object.entries(r.propertyDependencies as Record<string, GraphNode[]>).map(([k, ns]) => [k, ns.map((x) => out.get(x.urn)!)]));
    r.dependencies = [...new Set(Object.values(r.propertyDependencies).flat())];
  }
  return [...out.values()];
}


export interface Violation {
  policy: string;
  level: string;
  message: string;
  urn?: string;
}

export async function runPolicies(resources: PolicyResource[], o: PolicyOptions = {}, policies: (StackValidationPolicy | ResourceValidationPolicy)[] = airlockPolicies(o)): Promise<Violation[]> {
  const found: Violation[] = [];
  for (const p of policies) {
    if (!("validateStack" in p)) {
      // Resource policies: once per resource, as the engine does before creating each one.
      const validations = [p.validateResource ?? []].flat();
      for (const r of resources)
        for (const v of validations)
          await v({ type: r.type, props: r.props, urn: r.urn, name: r.name, opts: r.opts, stackTags: new Map(), getConfig: () => ({}) as any } as any, (message, urn) => found.push({ policy: p.name, level: p.enforcementLevel ?? "advisory", message, urn: urn ?? r.urn }));
      continue;
    }
    await p.validateStack(
      { resources, stackTags: new Map(), getConfig: () => ({}) as any, notApplicable: () => { throw new Error("not applicable"); } } as any,
      (message, urn) => found.push({ policy: p.name, level: p.enforcementLevel ?? "advisory", message, urn }),
    );
  }
  return found;
}
