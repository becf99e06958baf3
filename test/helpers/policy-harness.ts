// Calls the CrossGuard policies directly, as the analyzer host would (never starting the pack's
// server), on resources shaped like the engine sends them: built from a mock graph, with the
// property dependencies the engine would record, after an update the outputs (bridged providers'
// outputs carry `id`) (a property whose value is another resource's id)
// and, for a preview, those references still unknown and no computed outputs.
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import type { GraphNode, ResourceGraph } from "../../components/invariants/graph";
import { airlockPolicies, PolicyOptions } from "../../policy/policies";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const UNKNOWN_STRING: string = require("@pulumi/policy/proxy").unknownStringValue;

export type Phase = "up" | "preview";

export function engineResources(graph: ResourceGraph, phase: Phase): PolicyResource[] {
  const byId = new Map(graph.nodes.filter((n) => n.custom && n.id).map((n) => [n.id!, n]));
  const out = new Map<string, PolicyResource>();
  for (const n of graph.nodes) {
    const deps: Record<string, GraphNode[]> = {};
    const props: Record<string, any> = JSON.parse(JSON.stringify(phase === "up" ? { ...n.state, ...n.inputs, ...(n.id ? { id: n.id } : {}) } : n.inputs));
    for (const [k, v] of Object.entries(n.inputs)) {
      const refs = Array.isArray(v) ? v.map((x) => (typeof x === "string" ? byId.get(x) : undefined)) : [typeof v === "string" ? byId.get(v) : undefined];
      if (refs.length === 0 || refs.some((r) => !r || r === n)) continue;
      deps[k] = refs as GraphNode[];
      if (phase === "preview") props[k] = Array.isArray(v) ? v.map(() => UNKNOWN_STRING) : UNKNOWN_STRING;
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
