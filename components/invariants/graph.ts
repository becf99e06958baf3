// The resource graph the invariants are checked against: every resource a program registers, with
// the inputs it registered (after transformations) and the id/state the provider returned. Under the
// mock runtime (mock-graph.ts) ids and computed outputs come from the per-cloud mocks, so references
// between resources (a rule's security group id, a policy's bucket ARN) resolve inside the graph.
// Cloud-neutral: the per-cloud rule tables (rules/*.ts) read meaning out of it.

export interface GraphNode {
  urn: string;
  /** Type token, e.g. `aws:ec2/instance:Instance`. */
  type: string;
  /** Logical name. */
  name: string;
  inputs: Record<string, any>;
  /** Physical id as returned by the provider (mock), undefined for components. */
  id?: string;
  /** Outputs as returned by the provider (mock): inputs plus computed values. */
  state: Record<string, any>;
  /** URN of the parent resource, when known. */
  parent?: string;
  /** False for component resources (and the stack). */
  custom: boolean;
}

export class ResourceGraph {
  constructor(readonly nodes: GraphNode[]) {}

  /** Custom resources only: what a provider actually creates. */
  get resources(): GraphNode[] {
    return this.nodes.filter((n) => n.custom && !n.type.startsWith("pulumi:providers:"));
  }

  ofType(...types: string[]): GraphNode[] {
    return this.nodes.filter((n) => types.includes(n.type));
  }

  /** The node whose provider id is `id` (optionally of one type). */
  byId(id: unknown, type?: string): GraphNode | undefined {
    if (typeof id !== "string") return undefined;
    return this.nodes.find((n) => n.id === id && (!type || n.type === type));
  }

  /** The node whose state has `key` equal to `value` (e.g. an ARN or a name). */
  byState(key: string, value: unknown, type?: string): GraphNode | undefined {
    if (value === undefined) return undefined;
    return this.nodes.find((n) => n.state?.[key] === value && (!type || n.type === type));
  }

  /** Resource count per type token, sorted by type. */
  countByType(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const n of this.resources) counts[n.type] = (counts[n.type] ?? 0) + 1;
    return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
  }

  /** A deep copy, for mutation tests (the original stays untouched). */
  clone(): ResourceGraph {
    return new ResourceGraph(JSON.parse(JSON.stringify(this.nodes)));
  }

  /** Adds a resource (mutation tests: "what if someone added an internet gateway?"). */
  add(node: Omit<GraphNode, "urn" | "custom" | "state"> & Partial<Pick<GraphNode, "urn" | "custom" | "state">>): GraphNode {
    const full: GraphNode = { urn: `urn:added::${node.type}::${node.name}`, custom: true, state: { ...node.inputs, id: node.id }, ...node };
    this.nodes.push(full);
    return full;
  }

  /** Removes matching nodes (mutation tests: "what if the TTL schedule were missing?"); returns them. */
  remove(predicate: (n: GraphNode) => boolean): GraphNode[] {
    const removed = this.nodes.filter(predicate);
    for (const n of removed) this.nodes.splice(this.nodes.indexOf(n), 1);
    return removed;
  }

  find(predicate: (n: GraphNode) => boolean): GraphNode | undefined {
    return this.nodes.find(predicate);
  }
}

/** How findings name a resource: `type::name`. */
export function describeNode(n: GraphNode): string {
  return `${n.type}::${n.name}`;
}

/** Reads a policy document that may be a JSON string or an object. */
export function parseJson(value: unknown): any {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}
