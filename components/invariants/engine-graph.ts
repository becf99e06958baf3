// The resource graph from what the Pulumi engine tells an analyzer (a CrossGuard policy pack): every
// resource with its inputs (preview) or outputs (after an update), its parent and, per property, the
// resources that property's value came from. The same invariant checks then read it as they read the
// mock graph of `airlock check` (mock-graph.ts) — this only feeds them.
//
// What differs from the mock graph, and how it is bridged:
// - no provider ids: a property that references another resource (a rule's security group id, an
//   instance's subnet) is matched to that resource through the engine's property dependencies. Where
//   the value is known (after `up`) it becomes the referenced node's id; where it is still unknown
//   (preview) both sides get the same stand-in id, so "this rule belongs to that group" still holds.
// - unknown values (preview): a finding on a resource with unknown values in it may be a guess; the
//   caller can tell (`hasUnknowns`) and decide whether to defer it to the update.
import { GraphNode, ResourceGraph } from "./graph";

/** One resource as an analyzer receives it (the shape of @pulumi/policy's PolicyResource). */
export interface EngineResource {
  urn: string;
  type: string;
  name: string;
  props: Record<string, any>;
  parent?: { urn: string };
  /** Present for custom resources (their provider); component resources have none. */
  provider?: { urn: string } | unknown;
  propertyDependencies?: Record<string, { urn: string }[]>;
}

export interface EngineGraphOptions {
  /** The engine's unknown-value sentinels (@pulumi/policy/proxy). */
  isUnknown(value: unknown): boolean;
  /** Unwraps the analyzer's proxies, if any (@pulumi/policy's getSpecialProxyTarget). */
  unwrap?(value: any): any;
}

/** Marker left where the engine did not know a value yet. */
export const UNKNOWN = "<unknown>";

const standInId = (urn: string) => `(id of ${urn})`;

function plain(value: any, o: EngineGraphOptions, found: { unknown: boolean }): any {
  if (o.isUnknown(value)) {
    found.unknown = true;
    return UNKNOWN;
  }
  const v = o.unwrap ? o.unwrap(value) : value;
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map((x) => plain(x, o, found));
  const out: Record<string, any> = {};
  for (const k of Object.keys(v)) out[k] = plain(v[k], o, found);
  return out;
}

export interface EngineGraph {
  graph: ResourceGraph;
  /** URNs of resources with at least one value the engine did not know yet. */
  hasUnknowns: Set<string>;
}

export function graphFromEngine(resources: EngineResource[], o: EngineGraphOptions): EngineGraph {
  const hasUnknowns = new Set<string>();
  const nodes: GraphNode[] = resources.map((r) => {
    const found = { unknown: false };
    const props = plain(r.props, o, found);
    if (found.unknown) hasUnknowns.add(r.urn);
    // Component resources (and the stack) have no provider; every custom resource has one.
    const custom = r.provider !== undefined && r.type !== "pulumi:pulumi:Stack";
    return { urn: r.urn, type: r.type, name: r.name, inputs: props, state: { ...props }, parent: r.parent?.urn, custom };
  });
  const byUrn = new Map(nodes.map((n) => [n.urn, n]));

  // Ids learned from references: a known value of a property that depends on exactly one resource is
  // that resource's id (or ARN-like output, which the facts read from state); unknown ones get a stand-in.
  for (const r of resources) {
    const node = byUrn.get(r.urn)!;
    for (const [prop, deps] of Object.entries(r.propertyDependencies ?? {})) {
      const targets = deps.map((d) => byUrn.get(d.urn)).filter((t): t is GraphNode => !!t && t.custom);
      if (targets.length === 0) continue;
      const value = node.inputs[prop];
      const fill = (v: any, target: GraphNode): any => {
        if (v === UNKNOWN) {
          target.id = target.id ?? standInId(target.urn);
          return target.id;
        }
        if (typeof v === "string" && target.id === undefined && !v.startsWith("arn:") && !v.includes("{")) target.id = v;
        return v;
      };
      if (Array.isArray(value)) node.inputs[prop] = value.map((v, i) => (targets[i] ? fill(v, targets[i]) : v));
      else if (targets.length === 1) node.inputs[prop] = fill(value, targets[0]);
      node.state[prop] = node.inputs[prop];
    }
  }
  for (const n of nodes) if (n.custom && n.id === undefined) n.id = n.state.id ?? standInId(n.urn);
  for (const n of nodes) n.state.id = n.id;
  return { graph: new ResourceGraph(nodes), hasUnknowns };
}
