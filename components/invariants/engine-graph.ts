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
  // The engine names the resources a *top-level* property depends on, not where inside it each sits:
  // a reference nested in an object (an instance's networkInterfaces[].subnetwork, a NIC's
  // ipConfigurations[].subnet.id) is placed by its path (nestedTarget) and, where that is ambiguous,
  // stays unknown — the finding on it is then reported fail-closed, never passed.
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
        // Only a resource whose outputs carry no id learns it here: a value may be another output of it (a name, an endpoint).
        if (typeof v === "string" && target.id === undefined && target.state.id === undefined && !v.startsWith("arn:") && !v.includes("{")) target.id = v;
        return v;
      };
      if (typeof value === "string") {
        if (targets.length === 1) node.inputs[prop] = fill(value, targets[0]);
      } else if (Array.isArray(value) && value.every((v) => typeof v === "string")) {
        // A list of ids (security groups, subnets): the engine lists the dependencies in the same order.
        if (value.length === targets.length) node.inputs[prop] = value.map((v, i) => fill(v, targets[i]));
      } else {
        node.inputs[prop] = placeNested(value, [prop], targets, (t) => (t.id = t.id ?? standInId(t.urn)));
      }
      node.state[prop] = node.inputs[prop];
    }
  }
  for (const n of nodes) if (n.custom && n.id === undefined) n.id = n.state.id ?? standInId(n.urn);
  for (const n of nodes) n.state.id = n.id;
  return { graph: new ResourceGraph(nodes), hasUnknowns };
}

/** A type token's words, lower-cased: `gcp:compute/subnetwork:Subnetwork` → compute, subnetwork, subnetwork. */
function typeWords(type: string): string[] {
  const [, module = "", name = ""] = type.split(":");
  return [...module.split("/"), name].map((w) => w.toLowerCase()).filter(Boolean);
}

/**
 * The dependency a nested unknown stands for, from the path that leads to it, read from the leaf
 * up: the nearest key that names exactly one dependency's type (`subnetwork`, `networkInterfaces`,
 * `networkSecurityGroup`, `serviceAccount`; a plural names its singular). Ids, indexes and keys
 * that name none or several are passed over. Undefined when no key decides.
 */
export function nestedTarget(path: (string | number)[], targets: GraphNode[]): GraphNode | undefined {
  if (targets.length === 1) return targets[0];
  for (let i = path.length - 1; i >= 0; i--) {
    const key = path[i];
    if (typeof key !== "string" || key === "id") continue;
    const k = key.toLowerCase();
    const named = targets.filter((t) => typeWords(t.type).some((w) => w === k || `${w}s` === k));
    if (named.length === 1) return named[0];
  }
  return undefined;
}

/** The value with each nested unknown that a dependency can be placed for replaced by that dependency's id. */
function placeNested(value: any, path: (string | number)[], targets: GraphNode[], idOf: (t: GraphNode) => string): any {
  if (value === UNKNOWN) {
    const t = nestedTarget(path, targets);
    return t ? idOf(t) : UNKNOWN;
  }
  if (Array.isArray(value)) return value.map((v, i) => placeNested(v, [...path, i], targets, idOf));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, placeNested(v, [...path, k], targets, idOf)]));
  return value;
}
