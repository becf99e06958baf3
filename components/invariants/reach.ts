// Reachability from the graph's own references, cloud-neutral. A platform's facts say what is
// written — which group a rule belongs to, which groups a machine is in, which subnet and route
// table it uses, which identity it runs as — and this module derives whom each rule and route
// actually reaches. Tags only name the members ("the workload"); they never decide what a rule
// applies to. So a workload wired into the gate's security group (or given the gate's service
// account or network tag, or a NIC in the gate's NSG, or labels the gate's NetworkPolicy selects)
// inherits the gate's rules here exactly as it would on the platform, and the checks see it.
import type { GraphNode, ResourceGraph } from "./graph";
import type { CloudRuleTable, FirewallRuleFact, GroupRuleFact, Peer, Role, RouteFact } from "./types";

/** Roles of what is a member of `group`; a group nothing is a member of keeps its declared role. */
export function groupRoles(g: ResourceGraph, rules: CloudRuleTable, group: GraphNode): Role[] {
  const members = rules.memberships(g).filter((m) => m.group.urn === group.urn);
  return members.length ? [...new Set(members.map((m) => m.role))] : [rules.declaredRole(group)];
}

/**
 * Every firewall rule once per role it applies to (the roles of its group's members), with a peer
 * group resolved to the roles of its members. A rule on a group shared by the workload and the gate
 * is reported for both.
 */
export function effectiveFirewallRules(g: ResourceGraph, rules: CloudRuleTable): FirewallRuleFact[] {
  const out: FirewallRuleFact[] = [];
  const resolve = (r: GroupRuleFact): Peer[] => (r.peer.kind === "group" ? groupRoles(g, rules, r.peer.group).map((role) => ({ kind: "role", role }) as Peer) : [r.peer]);
  for (const r of rules.groupRules(g))
    for (const subject of groupRoles(g, rules, r.group)) for (const peer of resolve(r)) out.push({ node: r.node, direction: r.direction, subject, peer, ports: r.ports });
  return out;
}

/** Groups whose members have different roles: a rule meant for one then applies to the other. */
export function mixedGroups(g: ResourceGraph, rules: CloudRuleTable): { group: GraphNode; roles: Role[]; via: string[] }[] {
  const byGroup = new Map<string, { group: GraphNode; roles: Set<Role>; via: Set<string> }>();
  for (const m of rules.memberships(g)) {
    const e = byGroup.get(m.group.urn) ?? { group: m.group, roles: new Set<Role>(), via: new Set<string>() };
    e.roles.add(m.role);
    e.via.add(m.via);
    byGroup.set(m.group.urn, e);
  }
  return [...byGroup.values()].filter((e) => e.roles.size > 1).map((e) => ({ group: e.group, roles: [...e.roles].sort(), via: [...e.via] }));
}

/** Roles of the members whose subnets use `table` (empty when no placed member uses it). */
export function rolesServedBy(g: ResourceGraph, rules: CloudRuleTable, table: GraphNode | undefined): Role[] {
  if (!table) return [];
  return [...new Set(rules.placements(g).filter((p) => p.routeTable?.urn === table.urn).map((p) => p.role))];
}

/** A route with the roles it reaches (through subnet → route table placements). */
export function routesWithReach(g: ResourceGraph, rules: CloudRuleTable): (RouteFact & { reaches: Role[] })[] {
  return rules.routes(g).map((r) => ({ ...r, reaches: rolesServedBy(g, rules, r.table) }));
}

/**
 * Where the workload's network is not its own: another role in its subnet, or its route table also
 * serving another role's subnet (so a route meant for the gate — unsafe.allowInternet's exception —
 * would reach the workload).
 */
export function workloadPlacementShared(g: ResourceGraph, rules: CloudRuleTable): { node: GraphNode; detail: string }[] {
  const placements = rules.placements(g);
  const out: { node: GraphNode; detail: string }[] = [];
  for (const w of placements.filter((p) => p.role === "workload")) {
    const neighbours = placements.filter((p) => p.role !== "workload" && p.subnet.urn === w.subnet.urn);
    if (neighbours.length) out.push({ node: w.member, detail: `shares subnet ${w.subnet.name} with the ${[...new Set(neighbours.map((p) => p.role))].join(", ")}` });
    const tableMates = w.routeTable ? placements.filter((p) => p.role !== "workload" && p.routeTable?.urn === w.routeTable!.urn && p.subnet.urn !== w.subnet.urn) : [];
    if (tableMates.length) out.push({ node: w.member, detail: `its subnet ${w.subnet.name} uses route table ${w.routeTable!.name}, which also routes the ${[...new Set(tableMates.map((p) => p.role))].join(", ")}` });
  }
  return out;
}

/** Identities used by members of different roles (the workload running as the gate). */
export function sharedIdentities(g: ResourceGraph, rules: CloudRuleTable): { identity: GraphNode; roles: Role[] }[] {
  const byId = new Map<string, { identity: GraphNode; roles: Set<Role> }>();
  for (const u of rules.identityUses(g)) {
    const e = byId.get(u.identity.urn) ?? { identity: u.identity, roles: new Set<Role>() };
    e.roles.add(u.role);
    byId.set(u.identity.urn, e);
  }
  return [...byId.values()].filter((e) => e.roles.size > 1).map((e) => ({ identity: e.identity, roles: [...e.roles].sort() }));
}
