// The cloud-neutral vocabulary of the invariant checks.
//
// A per-cloud rule table (components/<cloud>/facts.ts, handed over by the backend's descriptor) reads a resource graph and answers in these terms —
// "this route goes to 0.0.0.0/0", "this firewall rule lets the workload reach the gate on 443",
// "this log store is locked in compliance mode for 90 days". The checks (checks/i*.ts) only ever see
// these facts, so adding GCP, Azure or Kubernetes means writing one table, not touching a check.
import type { ConfidentialKind, SandboxSpec, UnsafeFlag } from "../spec/schema";
import type { BackendRules } from "../spec/backend-rules";
import type { LabelStyle } from "../naming";
import type { GraphNode, ResourceGraph } from "./graph";

/** What a resource is for in the sandbox. */
export type Role = "workload" | "gate" | "target" | "endpoint" | "record" | "artifacts" | "guard" | "unknown";
// "guard": an in-boundary pod of Airlock's own (Kubernetes: the kill-switch guard) that may talk only
// to the platform's control plane.

/** A resource type that must not exist, and why. */
export interface ForbiddenType {
  /** Which guarantee it breaks: a path to the internet (I1), or credentials handed to instances (I4). */
  concern: "internet-path" | "credential-injection";
  why: string;
  /** The unsafe flag that allows it, if any. */
  waivableBy?: UnsafeFlag;
}

export interface RouteFact {
  node: GraphNode;
  /**
   * The route table (or other routing scope) the route belongs to. Who it reaches is derived from
   * the graph's references (placements → subnet → table), never from the table's own tags.
   */
  table?: GraphNode;
  /** Destination range, e.g. 0.0.0.0/0. */
  destination: string;
  /** What it routes to (gateway id, NAT id, ...). */
  via: string;
}

/** Something that gives a resource an address reachable from the internet. */
export interface ExposureFact {
  node: GraphNode;
  role: Role;
  detail: string;
}

/** A platform default that is open unless taken over (e.g. AWS's default security group). */
export interface OpenDefaultFact {
  node?: GraphNode;
  concern: "routes" | "egress" | "ingress";
  detail: string;
}

export type Peer =
  | { kind: "cidr"; cidr: string }
  | { kind: "role"; role: Role }
  /** Members of a firewall group (resolved to roles by invariants/reach.ts from the memberships). */
  | { kind: "group"; group: GraphNode }
  /** A private service path (e.g. an S3 gateway endpoint's prefix list) and what it serves. */
  | { kind: "service"; serves: "record" | "artifacts" | "record+artifacts" | "dns" | "control-plane" | "other"; detail: string }
  | { kind: "self" }
  | { kind: "unknown"; ref: string };

/**
 * A firewall rule as the platform writes it: it belongs to a group (AWS security group, GCP service
 * account or network tag, Azure NSG, Kubernetes NetworkPolicy) and applies to whatever is a member of
 * that group (MembershipFact). Facts never say whom a rule applies to: invariants/reach.ts derives it.
 */
export interface GroupRuleFact {
  node: GraphNode;
  direction: "egress" | "ingress";
  /** The group the rule belongs to. */
  group: GraphNode;
  peer: Peer;
  /** e.g. "tcp/443", "all". */
  ports: string;
}

/** A rule as the checks see it: resolved to the role of one member it applies to (invariants/reach.ts). */
export interface FirewallRuleFact {
  node: GraphNode;
  direction: "egress" | "ingress";
  /** Role of a member of the rule's group (or, for a group with no members, the group's declared role). */
  subject: Role;
  peer: Peer;
  /** e.g. "tcp/443", "all". */
  ports: string;
}

/**
 * Something (a machine, an endpoint) that a group's firewall rules apply to, by the graph's own
 * references: an instance's security group ids, a VM's service account or network tags, a NIC's or
 * subnet's NSG, a pod whose labels a NetworkPolicy's selector matches. `role` only names the member.
 */
export interface MembershipFact {
  member: GraphNode;
  role: Role;
  group: GraphNode;
  /** How the reference was found, for messages (e.g. "vpcSecurityGroupIds"). */
  via: string;
}

/** Where a member sits: its subnet, and the route table whose routes apply to that subnet. */
export interface PlacementFact {
  member: GraphNode;
  role: Role;
  subnet: GraphNode;
  /** The routing scope that applies (an explicit association, else the network's main table). */
  routeTable?: GraphNode;
}

/** The identity a member runs as (instance profile role, service account, managed identity). */
export interface IdentityUseFact {
  member: GraphNode;
  role: Role;
  identity: GraphNode;
  via: string;
}

export interface DnsFact {
  /** Resolver queries are limited to an allowlist (or the resolver is off), failing closed. */
  restricted: boolean;
  detail: string;
  nodes: GraphNode[];
}

export interface PolicyStatementFact {
  effect: "Allow" | "Deny";
  actions: string[];
  /** `NotAction` / `NotResource` used (an allow of "everything but"). */
  negated: boolean;
  resources: string[];
  anyPrincipal: boolean;
  /** Has conditions that narrow who or what (source account/ARN, principal ARN, endpoint). */
  conditioned: boolean;
}

export interface PolicyFact {
  node: GraphNode;
  kind: "identity" | "resource" | "endpoint" | "trust";
  statements: PolicyStatementFact[];
  /** A grant whose contents are not visible here (e.g. a managed policy attachment). */
  opaque?: string;
}

export interface ComputeFact {
  node: GraphNode;
  role: Role;
  metadata: { hardened: boolean; detail: string };
  sshKey?: string;
  tee: ConfidentialKind;
  machineType?: string;
  /** Stopping from inside deletes the machine (so an in-guest timer ends it). */
  shutdownDeletes: boolean;
  /** User the workload process runs as, when the table can tell. */
  runsAs?: string;
  /**
   * Ways out of the machine's own isolation the platform is told to allow (containers: privileged,
   * host namespaces, host paths, a shared-kernel runtime, an API token mounted). `internet-path` ones
   * (the node's network) fail I1, `privilege` ones I4. VMs have none.
   */
  breakouts?: BreakoutFact[];
}

export interface BreakoutFact {
  concern: "internet-path" | "privilege";
  detail: string;
  waivableBy?: UnsafeFlag;
}

export interface RecordFact {
  node: GraphNode;
  lock?: { mode: "compliance" | "governance"; days: number };
  versioned: boolean;
  publicAccessBlocked: boolean;
  /** Writes and deletes are refused unless they come from inside the boundary (or the log services). */
  writesOnlyFromBoundary: boolean;
}

/**
 * A store the machines install from or the canary objects live in (AWS/GCP: the artifacts bucket;
 * Azure: the record account's artifacts and canaries containers). Locked like the record (I5): the
 * guard and gate builds, and the bait the alarms compare against, must not be replaceable after the
 * fact. The lock is read from the store's own settings, never from what the component says it did.
 */
export interface ArtifactStoreFact {
  node: GraphNode;
  /** What it holds, for findings (e.g. "installed files and canaries"). */
  holds: string;
  /** The platform's retention lock on it (compliance = nobody can shorten or remove it), if any. */
  lock?: { mode: "compliance" | "governance"; days: number };
}

export interface FlowLogFact {
  node: GraphNode;
  allTraffic: boolean;
  toRecord: boolean;
  /** Network node ids the flow log covers. */
  covers: string[];
}

export interface CanaryFact {
  kind: "file" | "object" | "credential";
  /** Path relative to the workload's home (file, object) or the credential's name. */
  path: string;
  node: GraphNode;
  /** Grants attached to a credential canary (must be none). */
  grants?: GraphNode[];
}

export interface AlarmFact {
  node: GraphNode;
  /** Which canary kinds this alarm sees (only if the events actually reach it). */
  watches: ("object" | "credential")[];
  notifies: boolean;
  /** Stops or deletes the workload. */
  kills: boolean;
}

export interface TtlFact {
  node: GraphNode;
  at?: Date;
  /** Compute node ids it deletes or stops. */
  ends: string[];
  /**
   * Where the platform ends a machine a fixed time after *its own* start (a pod's
   * activeDeadlineSeconds) rather than at `at`: that time per machine, and the field it is read from.
   * I7 fails one longer than the spec's TTL (the platform would let it outlive the expiry).
   */
  runLimits?: { node: GraphNode; seconds: number; via: string }[];
}

/**
 * A guard that enforces the spec's kill rules on a workload, as the graph shows it: a VM's in-guest
 * guard (its config read back from the machine's first-boot script, its artifacts from the
 * artifacts store), or a pod's guard (its rules ConfigMap).
 */
export interface GuardFact {
  /** The resource that carries the guard (the workload machine, or the guard's pod). */
  node: GraphNode;
  where: "in-guest" | "pod";
  /** Compute node ids whose workload it guards. */
  guards: string[];
  /** Kill rules in its config (the spec's `on` names). */
  rules: { on: string; threshold?: number }[];
  /** When it ends the sandbox itself (in-guest: the TTL moved into the guard). */
  expiresAt?: Date;
  /** What of its install is missing (unit, start before the workload, artifacts fetched). */
  missing: string[];
  /** The artifacts it is installed from and whether the artifacts store holds each one. */
  artifacts: { key: string; stored: boolean }[];
  /**
   * In a VM: how its workload reaches the cloud's metadata server (which serves the boot script, and
   * with it the guard's config). `filter`: the guard runs the metadata filter, as `filterUid`;
   * `direct`: rules that let the workload's uid reach the server around it (gate entries naming it).
   */
  metadata?: { filter: boolean; filterUid?: number; direct: string[] };
}

/** The per-cloud adapter from a resource graph to the facts above. */
export interface CloudRuleTable {
  /** Network resources whose ids name "the boundary" (VPC, VNet, namespace). */
  networks(g: ResourceGraph): GraphNode[];
  forbiddenTypes: Readonly<Record<string, ForbiddenType>>;
  routes(g: ResourceGraph): RouteFact[];
  exposures(g: ResourceGraph): ExposureFact[];
  openDefaults(g: ResourceGraph): OpenDefaultFact[];
  /** Firewall rules as written, each on its group (resolved by invariants/reach.ts). */
  groupRules(g: ResourceGraph): GroupRuleFact[];
  /** Which groups each member is in, by reference. */
  memberships(g: ResourceGraph): MembershipFact[];
  /** Which subnet and route table each member uses, by reference. */
  placements(g: ResourceGraph): PlacementFact[];
  /** Which identity each machine runs as, by reference. */
  identityUses(g: ResourceGraph): IdentityUseFact[];
  /** The role a group declares for itself (its tag): used only for a group nothing is a member of. */
  declaredRole(group: GraphNode): Role;
  dns(g: ResourceGraph): DnsFact;
  policies(g: ResourceGraph): PolicyFact[];
  /** Actions allowed on every resource because the platform has no resource-level permission for them. */
  resourceWildcardActions: ReadonlySet<string>;
  compute(g: ResourceGraph): ComputeFact[];
  recordStores(g: ResourceGraph): RecordFact[];
  /** The artifacts and canary stores (I5); [] where the platform has none (say why in facts.ts). */
  artifactStores(g: ResourceGraph): ArtifactStoreFact[];
  flowLogs(g: ResourceGraph): FlowLogFact[];
  canaries(g: ResourceGraph): CanaryFact[];
  alarms(g: ResourceGraph): AlarmFact[];
  ttl(g: ResourceGraph): TtlFact[];
  /** The guards that enforce the kill rules (I9). */
  guards(g: ResourceGraph): GuardFact[];
  isTaggable(type: string): boolean;
  /** Input fields that hold labels for this type (e.g. tags, volumeTags; a dotted path for nested ones: metadata.labels). */
  labelFields(type: string): readonly string[];
}

export interface Finding {
  /** `type::name` of the offending resource, or "(spec)" / "(graph)". */
  resource: string;
  message: string;
  /** The unsafe flag that, when set, allows this. */
  waivableBy?: UnsafeFlag;
  /** True when the spec sets `waivableBy`. */
  waived?: boolean;
}

export type InvariantId = "I1" | "I2" | "I3" | "I4" | "I5" | "I6" | "I7" | "I8" | "I9";

export interface InvariantContext {
  graph: ResourceGraph;
  spec: SandboxSpec;
  /** The backend's facts (its descriptor's `facts`). */
  rules: CloudRuleTable;
  /** How the backend spells labels (its descriptor's `labelStyle`). */
  labelStyle: LabelStyle;
  /** The backend's spec rules (its descriptor's `rules`): I8 judges the built size by them. */
  specRules: BackendRules;
}

export interface Invariant {
  id: InvariantId;
  title: string;
  /** The unsafe flags that can waive (part of) this invariant. */
  waiverFlags: readonly UnsafeFlag[];
  check(ctx: InvariantContext): Finding[];
}

export interface Verdict {
  id: InvariantId;
  title: string;
  status: "pass" | "fail" | "waived";
  /** All findings, waived ones included (marked). */
  findings: Finding[];
  /** The spec's unsafe flags that waive this invariant. */
  waivedBy: UnsafeFlag[];
}
