// How every backend's mutation cases (<cloud>/mutations.ts) find the resource they break: by type and
// by the suffix of its logical name, which components/naming.ts spells the same way in every cloud.
// Exactly one must match, so a renamed resource fails the mutation loudly instead of silently
// breaking nothing (a mutation that changes nothing would let the invariant "pass" its must-fail test).
import type { GraphNode, ResourceGraph } from "./graph";

/** The one node of `type` whose logical name ends with `-<suffix>` (the component's naming). */
export function oneNamed(g: ResourceGraph, type: string, suffix: string): GraphNode {
  const found = g.nodes.filter((n) => n.type === type && n.name.endsWith(`-${suffix}`));
  if (found.length !== 1) throw new Error(`mutation: expected one ${type} named *-${suffix}, found ${found.length}`);
  return found[0];
}

/** Removes the one node `oneNamed` finds (a mutation that takes a resource away, e.g. a lock). */
export function removeNamed(g: ResourceGraph, type: string, suffix: string): GraphNode {
  const node = oneNamed(g, type, suffix);
  g.remove((n) => n === node);
  return node;
}
