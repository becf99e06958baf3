// The GCP invariant facts: how I1–I9 read an @pulumi/gcp resource graph (type tokens and property
// names verified against @pulumi/gcp 9.37.0). Reachability is derived from the graph's own references
// (invariants/reach.ts does the resolving): on GCP a firewall rule's "group" is the service account it
// targets (targetServiceAccounts), the set of instances with a network tag it targets (targetTags;
// the rule itself stands for that group), or the whole network when it names neither. An instance is a
// member of its service account's group by `serviceAccount.email`, of a tag group by `tags`, of its
// network by its subnetwork. Peers are the instances whose address (networkIp) or service account a
// rule names. The `airlock-role` label only *names* an instance in findings. So the workload given the
// gate's service account or network tag inherits the gate's allows (to the targets, to Google APIs),
// and I2/I4 say so. Routes apply network-wide, or to the instances with one of the route's tags.
import { forbiddenByKind } from "../cloud/forbidden";
import { GCP_ROLE_LABEL, gcpLabelFields, isGcpLabelled } from "./labels";
import { DEFAULT_INTERNET_GATEWAY, DNS_BYPASS, DNS_CATCH_ALL, GOOGLE_APIS_ZONE, RESTRICTED_VIP_RANGE } from "./services";
import { CANARY_PREFIX } from "./bait";
import type { ConfidentialKind } from "../spec/schema";
import { cidrReachesInternet } from "../spec/net";
import type { GraphNode, ResourceGraph } from "../invariants/graph";
import type * as Inv from "../invariants/types";
import { vmGuardFact } from "../invariants/guest-guard-fact";
import { UNKNOWN } from "../invariants/engine-graph";

const T = {
  network: "gcp:compute/network:Network",
  subnet: "gcp:compute/subnetwork:Subnetwork",
  route: "gcp:compute/route:Route",
  firewall: "gcp:compute/firewall:Firewall",
  instance: "gcp:compute/instance:Instance",
  address: "gcp:compute/address:Address",
  zone: "gcp:dns/managedZone:ManagedZone",
  recordSet: "gcp:dns/recordSet:RecordSet",
  responsePolicy: "gcp:dns/responsePolicy:ResponsePolicy",
  responseRule: "gcp:dns/responsePolicyRule:ResponsePolicyRule",
  bucket: "gcp:storage/bucket:Bucket",
  object: "gcp:storage/bucketObject:BucketObject",
  bucketMember: "gcp:storage/bucketIAMMember:BucketIAMMember",
  bucketBinding: "gcp:storage/bucketIAMBinding:BucketIAMBinding",
  bucketPolicy: "gcp:storage/bucketIAMPolicy:BucketIAMPolicy",
  projectMember: "gcp:projects/iAMMember:IAMMember",
  projectBinding: "gcp:projects/iAMBinding:IAMBinding",
  projectPolicy: "gcp:projects/iAMPolicy:IAMPolicy",
  customRole: "gcp:projects/iAMCustomRole:IAMCustomRole",
  auditConfig: "gcp:projects/iAMAuditConfig:IAMAuditConfig",
  saMember: "gcp:serviceaccount/iAMMember:IAMMember",
  account: "gcp:serviceaccount/account:Account",
  key: "gcp:serviceaccount/key:Key",
  endpointMember: "gcp:vertex/aiEndpointIamMember:AiEndpointIamMember",
  topicMember: "gcp:pubsub/topicIAMMember:TopicIAMMember",
  instanceMember: "gcp:compute/instanceIAMMember:InstanceIAMMember",
  sink: "gcp:logging/projectSink:ProjectSink",
  alert: "gcp:monitoring/alertPolicy:AlertPolicy",
  topic: "gcp:pubsub/topic:Topic",
  trigger: "gcp:eventarc/trigger:Trigger",
  workflow: "gcp:workflows/workflow:Workflow",
} as const;

const FORBIDDEN = forbiddenByKind({
  nat: ["gcp:compute/router:Router", "gcp:compute/routerNat:RouterNat"],
  otherNetwork: ["gcp:compute/networkPeering:NetworkPeering", "gcp:compute/vPNGateway:VPNGateway", "gcp:compute/haVpnGateway:HaVpnGateway", "gcp:compute/vPNTunnel:VPNTunnel", "gcp:compute/externalVpnGateway:ExternalVpnGateway", "gcp:compute/interconnectAttachment:InterconnectAttachment"],
  // Project-wide metadata (SSH keys, startup scripts) reaches every instance; an OS Login key is a way in.
  pushedIn: ["gcp:compute/projectMetadata:ProjectMetadata", "gcp:compute/projectMetadataItem:ProjectMetadataItem"],
  sshKey: ["gcp:oslogin/sshPublicKey:SshPublicKey"],
  // Bucket ACLs bypass uniform bucket-level access.
  grantBypass: ["gcp:storage/bucketACL:BucketACL", "gcp:storage/bucketAccessControl:BucketAccessControl"],
});

/** Basic roles: every permission of (almost) every service. */
const BASIC_ROLES = new Set(["roles/owner", "roles/editor", "roles/viewer"]);
const ALLOWED_BYPASS = new Set<string>(DNS_BYPASS);
/** Google's Private Google Access ranges: reach Google's API front end only, not the internet. */
const GOOGLE_API_RANGES = new Set([RESTRICTED_VIP_RANGE, "199.36.153.8/30"]);

const arr = <X>(v: X | X[] | undefined | null): X[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
const same = (a: unknown, b: GraphNode) => a !== undefined && (a === b.id || a === b.state?.selfLink || a === b.state?.name);

function roleOf(node: GraphNode | undefined): Inv.Role {
  const r = node?.inputs?.labels?.[GCP_ROLE_LABEL];
  return (["workload", "gate", "target", "record", "artifacts"] as const).find((x) => x === r) ?? "unknown";
}

// ---- the graph's references

function networkOfInstance(g: ResourceGraph, i: GraphNode): string | undefined {
  const ni = arr<any>(i.inputs.networkInterfaces)[0];
  if (!ni) return undefined;
  const subnet = g.ofType(T.subnet).find((s) => same(ni.subnetwork, s));
  const ref = subnet?.inputs.network ?? ni.network;
  return g.ofType(T.network).find((n) => same(ref, n))?.id ?? ref;
}

function ipOf(i: GraphNode): string | undefined {
  return arr<any>(i.state?.networkInterfaces ?? i.inputs.networkInterfaces)[0]?.networkIp;
}

function saOf(i: GraphNode): string | undefined {
  return i.inputs.serviceAccount?.email;
}

const known = (v: unknown): v is string => typeof v === "string" && v !== "" && v !== UNKNOWN;

/**
 * A service account's email: its output once the account exists; before that (a preview, which has
 * no outputs) the email its inputs decide. IAM names a user-managed service account from the two
 * values it is created with, `<accountId>@<project>.iam.gserviceaccount.com` (Google IAM, "Service
 * accounts overview"; `accountId` and `project` are inputs of gcp.serviceaccount.Account,
 * serviceaccount/account.d.ts). Undefined where either input is not known, or where the project is
 * domain-scoped (`example.com:p`, whose accounts IAM names otherwise): nothing decides it then.
 */
export function emailOf(a: GraphNode): string | undefined {
  if (known(a.state?.email)) return a.state.email;
  const { accountId, project } = a.inputs;
  return known(accountId) && known(project) && !project.includes(":") ? `${accountId}@${project}.iam.gserviceaccount.com` : undefined;
}

/**
 * The service account an email-valued property names: by its email (known or decided by its inputs),
 * or by the account resource itself — at a preview the property is a reference to the account's
 * email that the engine cannot give yet, and engine-graph.ts resolves it to that account's id.
 * Undefined where neither decides (reported fail-closed by the checks).
 */
function accountNamed(g: ResourceGraph, ref: unknown): GraphNode | undefined {
  if (!known(ref)) return undefined;
  return g.ofType(T.account).find((a) => ref === a.id || ref === emailOf(a));
}

function instancesOf(g: ResourceGraph, network: string): GraphNode[] {
  return g.ofType(T.instance).filter((i) => networkOfInstance(g, i) === network);
}

function networkIdOf(g: ResourceGraph, ref: unknown): string | undefined {
  return g.ofType(T.network).find((n) => same(ref, n))?.id ?? (typeof ref === "string" ? ref : undefined);
}

/** The instances a firewall rule applies to (GCP: by service account, by network tag, or all). */
function cidrPeer(g: ResourceGraph, cidr: string, subject: Inv.Role, network: string): Inv.Peer {
  if (GOOGLE_API_RANGES.has(cidr))
    // The VIP serves every Google API (services.ts): an upstream of the gate's, never the workload's path to the record.
    return { kind: "service", serves: subject === "gate" ? "record+artifacts" : "other", detail: `Google APIs (${cidr}, Private Google Access)` };
  const host = /^(\d+\.\d+\.\d+\.\d+)\/32$/.exec(cidr)?.[1];
  const owner = host ? instancesOf(g, network).find((i) => ipOf(i) === host) : undefined;
  return owner ? { kind: "role", role: roleOf(owner) } : { kind: "cidr", cidr };
}

function ports(allow: any): string {
  if (allow.protocol === "all") return "all";
  const p = arr<string>(allow.ports);
  return p.length ? `${allow.protocol}/${p.join(",")}` : `${allow.protocol}/all-ports`;
}

// ---- I1

/** Routes that lead somewhere other than Google's API front end (Private Google Access ranges). */
function outboundRoutes(g: ResourceGraph): GraphNode[] {
  return g.ofType(T.route).filter((r) => !(GOOGLE_API_RANGES.has(r.inputs.destRange) && r.inputs.nextHopGateway === DEFAULT_INTERNET_GATEWAY));
}

/** The routing scope of a route: the route itself when it is limited to network tags, else its network. */
function routeScope(g: ResourceGraph, r: GraphNode): GraphNode | undefined {
  return arr(r.inputs.tags).length ? r : g.ofType(T.network).find((n) => same(r.inputs.network, n));
}

export function routes(g: ResourceGraph): Inv.RouteFact[] {
  return outboundRoutes(g).map((r) => ({
    node: r,
    table: routeScope(g, r),
    destination: r.inputs.destRange,
    via: r.inputs.nextHopGateway ?? r.inputs.nextHopIp ?? r.inputs.nextHopInstance ?? r.inputs.nextHopIlb ?? r.inputs.nextHopVpnTunnel ?? "?",
  }));
}

export function exposures(g: ResourceGraph): Inv.ExposureFact[] {
  const out: Inv.ExposureFact[] = [];
  for (const i of g.ofType(T.instance))
    for (const ni of arr<any>(i.inputs.networkInterfaces)) {
      if (arr(ni.accessConfigs).length) out.push({ node: i, role: roleOf(i), detail: "a network interface has an access config (external IP)" });
      if (arr(ni.ipv6AccessConfigs).length) out.push({ node: i, role: roleOf(i), detail: "a network interface has an IPv6 access config (external IPv6)" });
    }
  for (const a of g.ofType(T.address)) if (a.inputs.addressType !== "INTERNAL") out.push({ node: a, role: "unknown", detail: "an external IP address is reserved" });
  return out;
}

function isDenyAll(r: GraphNode, direction: "EGRESS" | "INGRESS"): boolean {
  const i = r.inputs;
  const ranges = arr<string>(direction === "EGRESS" ? i.destinationRanges : i.sourceRanges);
  return (
    (i.direction ?? "INGRESS") === direction &&
    i.disabled !== true &&
    arr<any>(i.denies).some((d) => d.protocol === "all") &&
    ranges.includes("0.0.0.0/0") &&
    !arr(i.targetServiceAccounts).length &&
    !arr(i.targetTags).length &&
    (i.priority ?? 1000) < 65535 &&
    i.logConfig !== undefined
  );
}

export function openDefaults(g: ResourceGraph): Inv.OpenDefaultFact[] {
  const out: Inv.OpenDefaultFact[] = [];
  for (const n of g.ofType(T.network)) {
    if (n.inputs.deleteDefaultRoutesOnCreate !== true) out.push({ node: n, concern: "routes", detail: "the network keeps GCP's default route 0.0.0.0/0 to the internet gateway (deleteDefaultRoutesOnCreate is not true)" });
    if (n.inputs.autoCreateSubnetworks !== false) out.push({ node: n, concern: "routes", detail: "auto-mode network: GCP creates a subnet in every region" });
    const rules = g.ofType(T.firewall).filter((r) => same(r.inputs.network, n));
    if (!rules.some((r) => isDenyAll(r, "EGRESS"))) out.push({ node: n, concern: "egress", detail: "GCP's implied allow-all egress (priority 65535) is not overridden by a logged deny-all egress to 0.0.0.0/0" });
    if (!rules.some((r) => isDenyAll(r, "INGRESS"))) out.push({ node: n, concern: "ingress", detail: "no logged deny-all ingress (GCP's implied deny is not logged)" });
  }
  return out;
}

// ---- I2, I3: rules on groups, and who is in which group

/** The groups a rule's targets name: its service accounts, its tag group (the rule), or the network. */
function ruleGroups(g: ResourceGraph, r: GraphNode): GraphNode[] {
  const sas = arr<string>(r.inputs.targetServiceAccounts);
  if (sas.length) return sas.map((sa) => accountNamed(g, sa) ?? { ...r, urn: `${r.urn}#sa:${sa}`, name: sa });
  if (arr(r.inputs.targetTags).length) return [r];
  const network = g.ofType(T.network).find((n) => same(r.inputs.network, n));
  return network ? [network] : [];
}

function allowRules(g: ResourceGraph): GraphNode[] {
  return g.ofType(T.firewall).filter((r) => arr(r.inputs.allows).length > 0 && r.inputs.disabled !== true);
}

export function groupRules(g: ResourceGraph): Inv.GroupRuleFact[] {
  const out: Inv.GroupRuleFact[] = [];
  const members = memberships(g);
  for (const r of allowRules(g)) {
    const network = networkIdOf(g, r.inputs.network)!;
    const direction = (r.inputs.direction ?? "INGRESS") === "EGRESS" ? "egress" : "ingress";
    for (const group of ruleGroups(g, r)) {
      // Only for what the Google API VIP counts as (an upstream of the gate's, nobody else's path):
      // the group's members by reference; reach.ts decides whom the rule applies to.
      const roles = new Set(members.filter((m) => m.group.urn === group.urn).map((m) => m.role));
      const subject: Inv.Role = roles.size === 1 ? [...roles][0] : "unknown";
      let peers: Inv.Peer[];
      if (direction === "egress") peers = arr<string>(r.inputs.destinationRanges).map((c) => cidrPeer(g, c, subject, network));
      else {
        const bySa = arr<string>(r.inputs.sourceServiceAccounts).map((sa): Inv.Peer => {
          const account = accountNamed(g, sa);
          return account ? (account.urn === group.urn ? { kind: "self" } : { kind: "group", group: account }) : { kind: "unknown", ref: sa };
        });
        const byTag = arr<string>(r.inputs.sourceTags).flatMap((tag) => instancesOf(g, network).filter((i) => arr<string>(i.inputs.tags).includes(tag)).map((u) => ({ kind: "role", role: roleOf(u) }) as Inv.Peer));
        peers = [...bySa, ...byTag, ...arr<string>(r.inputs.sourceRanges).map((c) => cidrPeer(g, c, subject, network))];
      }
      if (!peers.length) peers = [{ kind: "cidr", cidr: "0.0.0.0/0" }]; // a rule naming no peer matches every address
      for (const peer of peers) for (const a of arr<any>(r.inputs.allows)) out.push({ node: r, direction, group, peer, ports: ports(a) });
    }
  }
  return out;
}

function accountOf(g: ResourceGraph, i: GraphNode): GraphNode | undefined {
  return accountNamed(g, saOf(i));
}

export function memberships(g: ResourceGraph): Inv.MembershipFact[] {
  const out: Inv.MembershipFact[] = [];
  const rules = allowRules(g);
  for (const i of g.ofType(T.instance)) {
    const role = roleOf(i);
    const account = accountOf(g, i);
    if (account) out.push({ member: i, role, group: account, via: "serviceAccount.email" });
    const network = networkOfInstance(g, i);
    for (const r of rules.filter((x) => networkIdOf(g, x.inputs.network) === network)) {
      const tags = arr<string>(r.inputs.targetTags);
      if (!arr(r.inputs.targetServiceAccounts).length && tags.length && arr<string>(i.inputs.tags).some((t) => tags.includes(t))) out.push({ member: i, role, group: r, via: "tags" });
    }
    // Members of the whole network only where an allow rule applies to every instance of it.
    const net = g.ofType(T.network).find((n) => n.id === network);
    if (net && rules.some((r) => same(r.inputs.network, net) && !arr(r.inputs.targetServiceAccounts).length && !arr(r.inputs.targetTags).length))
      out.push({ member: i, role, group: net, via: "network (a rule with no target applies to every instance)" });
  }
  return out;
}

/** Which subnet each instance uses, and which outbound routes reach it (by network or by tag). */
export function placements(g: ResourceGraph): Inv.PlacementFact[] {
  const out: Inv.PlacementFact[] = [];
  const outbound = outboundRoutes(g).filter((r) => cidrReachesInternet(String(r.inputs.destRange)));
  for (const i of g.ofType(T.instance)) {
    const ni = arr<any>(i.inputs.networkInterfaces)[0];
    const subnet = ni && g.ofType(T.subnet).find((s) => same(ni.subnetwork, s));
    if (!subnet) continue;
    const network = networkOfInstance(g, i);
    const scopes = outbound
      .filter((r) => networkIdOf(g, r.inputs.network) === network)
      .filter((r) => !arr(r.inputs.tags).length || arr<string>(r.inputs.tags).some((t) => arr<string>(i.inputs.tags).includes(t)))
      .map((r) => routeScope(g, r));
    const unique = [...new Set(scopes.filter(Boolean))] as GraphNode[];
    if (!unique.length) out.push({ member: i, role: roleOf(i), subnet });
    for (const routeTable of unique) out.push({ member: i, role: roleOf(i), subnet, routeTable });
  }
  return out;
}

export function identityUses(g: ResourceGraph): Inv.IdentityUseFact[] {
  return g.ofType(T.instance).flatMap((i) => {
    const account = accountOf(g, i);
    return account ? [{ member: i, role: roleOf(i), identity: account, via: "serviceAccount.email" }] : [];
  });
}

/** Groups carry no role of their own on GCP (service accounts have no labels): named by their members only. */
export function declaredRole(group: GraphNode): Inv.Role {
  return group.type === T.instance ? roleOf(group) : "unknown";
}

export function dns(g: ResourceGraph): Inv.DnsFact {
  const problems: string[] = [];
  const nodes: GraphNode[] = [];
  for (const n of g.ofType(T.network)) {
    const policies = g.ofType(T.responsePolicy).filter((p) => arr<any>(p.inputs.networks).some((x) => same(x.networkUrl, n)));
    nodes.push(...policies);
    const rules = g.ofType(T.responseRule).filter((r) => policies.some((p) => r.inputs.responsePolicy === p.inputs.responsePolicyName || r.inputs.responsePolicy === p.id));
    const catchAll = rules.find((r) => r.inputs.dnsName === DNS_CATCH_ALL && r.inputs.localData && r.inputs.behavior !== "bypassResponsePolicy");
    const extraBypass = rules.filter((r) => r.inputs.behavior === "bypassResponsePolicy" && !ALLOWED_BYPASS.has(r.inputs.dnsName));
    const apis = g.ofType(T.zone).find((z) => z.inputs.dnsName === GOOGLE_APIS_ZONE && z.inputs.visibility === "private" && arr<any>(z.inputs.privateVisibilityConfig?.networks).some((x) => same(x.networkUrl, n)));
    if (!policies.length) problems.push(`network ${n.name} has no response policy: the metadata server's resolver answers any name from the internet`);
    else if (!catchAll) problems.push(`network ${n.name}: the response policy does not answer every other name locally (no '${DNS_CATCH_ALL}' rule)`);
    if (extraBypass.length) problems.push(`network ${n.name}: names outside the allowlist bypass the response policy (${extraBypass.map((r) => r.inputs.dnsName).join(", ")})`);
    if (!apis) problems.push(`network ${n.name}: no private ${GOOGLE_APIS_ZONE} zone (Google API names would resolve to public addresses)`);
    if (g.ofType(T.zone).some((z) => z.inputs.forwardingConfig || z.inputs.peeringConfig)) problems.push("a forwarding or peering zone sends queries out of the network");
  }
  return { restricted: problems.length === 0, detail: problems.join("; ") || "Google APIs and internal names only", nodes };
}

// ---- I4

/** A project-level binding whose IAM condition names one resource is scoped to that resource. */
function conditionResource(condition: any): string | undefined {
  return /resource\.name\s*==\s*"([^"]+)"/.exec(String(condition?.expression ?? ""))?.[1];
}

function grant(role: string, resource: string, members: string[], condition: any): Inv.PolicyStatementFact {
  return {
    effect: "Allow",
    actions: [BASIC_ROLES.has(role) ? "*" : role],
    negated: false,
    resources: [conditionResource(condition) ?? resource],
    anyPrincipal: members.some((m) => m === "allUsers" || m === "allAuthenticatedUsers"),
    conditioned: condition !== undefined,
  };
}

export function policies(g: ResourceGraph): Inv.PolicyFact[] {
  const out: Inv.PolicyFact[] = [];
  for (const b of g.ofType(T.projectMember, T.projectBinding))
    out.push({ node: b, kind: "identity", statements: [grant(b.inputs.role, "*", arr(b.inputs.member ?? b.inputs.members), b.inputs.condition)] });
  for (const p of g.ofType(T.projectPolicy, T.bucketPolicy)) out.push({ node: p, kind: "identity", statements: [], opaque: "a whole IAM policy document" });
  const resourceGrant = (type: string, resourceOf: (i: any) => string) =>
    g.ofType(type).forEach((b) => out.push({ node: b, kind: "resource", statements: [grant(b.inputs.role, resourceOf(b.inputs), arr(b.inputs.member ?? b.inputs.members), b.inputs.condition)] }));
  resourceGrant(T.bucketMember, (i) => `buckets/${i.bucket}`);
  resourceGrant(T.bucketBinding, (i) => `buckets/${i.bucket}`);
  resourceGrant(T.endpointMember, (i) => `endpoints/${i.endpoint}`);
  resourceGrant(T.topicMember, (i) => `topics/${i.topic}`);
  resourceGrant(T.instanceMember, (i) => `instances/${i.instanceName}`);
  resourceGrant(T.saMember, (i) => `serviceAccounts/${i.serviceAccountId}`);
  for (const i of g.ofType(T.instance)) {
    if (i.inputs.serviceAccount && !i.inputs.serviceAccount.email)
      out.push({ node: i, kind: "identity", statements: [], opaque: "the project's default compute service account (an Editor of the project unless changed)" });
  }
  return out;
}

// ---- compute (I4, I7, I8)

function teeOf(i: GraphNode): ConfidentialKind {
  const c = i.inputs.confidentialInstanceConfig;
  if (!c) return "none";
  const terminates = i.inputs.scheduling?.onHostMaintenance === "TERMINATE";
  // Settings GCE would refuse (or that would not give the kind) count as no TEE.
  switch (c.confidentialInstanceType ?? (c.enableConfidentialCompute ? "SEV" : undefined)) {
    case "SEV":
      return "sev";
    case "SEV_SNP":
      return i.inputs.minCpuPlatform === "AMD Milan" && terminates ? "sev-snp" : "none";
    case "TDX":
      return terminates ? "tdx" : "none";
    default:
      return "none";
  }
}

function metadataOf(i: GraphNode): { hardened: boolean; detail: string } {
  const m = i.inputs.metadata ?? {};
  const s = i.inputs.shieldedInstanceConfig ?? {};
  const problems = [
    String(m["enable-oslogin"]).toUpperCase() !== "TRUE" && "OS Login is not on (enable-oslogin)",
    String(m["serial-port-enable"]).toUpperCase() === "TRUE" && "the serial port is on",
    !(s.enableSecureBoot === true && s.enableVtpm === true && s.enableIntegrityMonitoring === true) && "not a Shielded VM (secure boot, vTPM, integrity monitoring)",
  ].filter(Boolean);
  return { hardened: problems.length === 0, detail: problems.join(", ") || "OS Login, serial port off, Shielded VM" };
}

function sshKeyOf(i: GraphNode): string | undefined {
  const m = i.inputs.metadata ?? {};
  if (m["ssh-keys"] || m.sshKeys) return "metadata ssh-keys";
  if (String(m["block-project-ssh-keys"]).toUpperCase() !== "TRUE") return "project-wide SSH keys are allowed (block-project-ssh-keys is not TRUE)";
  return undefined;
}

export function compute(g: ResourceGraph): Inv.ComputeFact[] {
  return g.ofType(T.instance).map((i) => ({
    node: i,
    role: roleOf(i),
    metadata: metadataOf(i),
    sshKey: sshKeyOf(i),
    tee: teeOf(i),
    machineType: i.inputs.machineType,
    // A guest power-off stops a GCE VM (no CPU, no network; it cannot start again by itself); the
    // platform deletes it at the termination time. GCE has no "shutdown deletes" switch: this counts the
    // DELETE termination action as the equivalent (docs/equivalence.md).
    shutdownDeletes: i.inputs.scheduling?.instanceTerminationAction === "DELETE",
    runsAs: /^User=(\S+)$/m.exec(String(i.inputs.metadata?.["startup-script"] ?? ""))?.[1],
  }));
}

// ---- I5 (the record and the artifacts store)

function sinkBucket(s: GraphNode): string | undefined {
  return /^storage\.googleapis\.com\/(.+)$/.exec(String(s.inputs.destination ?? ""))?.[1];
}

/**
 * A bucket's retention policy as a lock: locked (irreversible) is compliance, an unlocked policy
 * (which a privileged principal can shorten or remove) governance.
 */
function retentionLockOf(b: GraphNode): Inv.RecordFact["lock"] {
  const r = b.inputs.retentionPolicy;
  if (!r) return undefined;
  return { mode: r.isLocked === true ? "compliance" : "governance", days: Number(r.retentionPeriod) / 86_400 };
}

/** The artifacts bucket(s): the installed files and the canary objects (artifacts.ts, canaries.ts). */
export function artifactStores(g: ResourceGraph): Inv.ArtifactStoreFact[] {
  return g.ofType(T.bucket).filter((b) => roleOf(b) === "artifacts").map((b) => ({ node: b, holds: "installed files and canaries", lock: retentionLockOf(b) }));
}

export function recordStores(g: ResourceGraph): Inv.RecordFact[] {
  const sinkTargets = new Set(g.ofType(T.sink).map(sinkBucket).filter(Boolean));
  const networks = new Set(g.ofType(T.network).map((n) => n.id));
  return g
    .ofType(T.bucket)
    .filter((b) => roleOf(b) === "record" || sinkTargets.has(b.state.name))
    .map((b) => {
      const lock = retentionLockOf(b);
      const f = b.inputs.ipFilter;
      const sources = arr<any>(f?.vpcNetworkSources);
      return {
        node: b,
        lock,
        // GCS refuses Object Versioning with a retention policy; a retained object cannot be replaced.
        versioned: b.inputs.versioning?.enabled === true || lock !== undefined,
        publicAccessBlocked: b.inputs.publicAccessPrevention === "enforced" && b.inputs.uniformBucketLevelAccess === true,
        writesOnlyFromBoundary: f?.mode === "Enabled" && sources.length > 0 && sources.every((s) => networks.has(s.network)) && !arr(f.publicNetworkSource?.allowedIpCidrRanges).length,
      };
    });
}

export function flowLogs(g: ResourceGraph): Inv.FlowLogFact[] {
  const records = new Set(recordStores(g).map((r) => r.node.state.name));
  const sinks = g.ofType(T.sink).filter((s) => records.has(sinkBucket(s)) && s.inputs.disabled !== true);
  return g
    .ofType(T.subnet)
    .filter((s) => s.inputs.logConfig)
    .map((s) => {
      const c = s.inputs.logConfig;
      return {
        node: s,
        allTraffic: (c.flowSampling ?? 0.5) === 1 && c.aggregationInterval === "INTERVAL_5_SEC" && c.metadata === "INCLUDE_ALL_METADATA" && !c.filterExpr,
        toRecord: sinks.some((k) => String(k.inputs.filter).includes("vpc_flows") && String(k.inputs.filter).includes(`"${s.state.name}"`)),
        covers: [networkIdOf(g, s.inputs.network)!],
      };
    });
}

// ---- I6

export function canaries(g: ResourceGraph): Inv.CanaryFact[] {
  const out: Inv.CanaryFact[] = [];
  for (const w of g.ofType(T.instance).filter((i) => roleOf(i) === "workload"))
    for (const m of String(w.inputs.metadata?.["startup-script"] ?? "").matchAll(/^cat > '(?:\/home\/[^/']+|\/root)\/([^']+)' <</gm)) out.push({ kind: "file", path: m[1], node: w });
  for (const o of g.ofType(T.object).filter((o) => String(o.inputs.name ?? "").startsWith(CANARY_PREFIX))) out.push({ kind: "object", path: o.inputs.name.slice(CANARY_PREFIX.length), node: o });
  for (const k of g.ofType(T.key)) {
    const account = g.ofType(T.account).find((a) => same(k.inputs.serviceAccountId, a));
    const member = `serviceAccount:${account && emailOf(account)}`;
    const grants = g.resources.filter((n) => /IAM(Member|Binding)|IamMember/.test(n.type) && arr(n.inputs.member ?? n.inputs.members).includes(member));
    out.push({ kind: "credential", path: String((account && emailOf(account)) ?? k.inputs.serviceAccountId), node: k, grants });
  }
  return out;
}

function watchesOf(g: ResourceGraph, filter: string): ("object" | "credential")[] {
  const watches: ("object" | "credential")[] = [];
  const dataReadLogged = g.ofType(T.auditConfig).some((a) => ["storage.googleapis.com", "allServices"].includes(a.inputs.service) && arr<any>(a.inputs.auditLogConfigs).some((c) => c.logType === "DATA_READ"));
  const buckets = new Set(g.ofType(T.object).filter((o) => String(o.inputs.name ?? "").startsWith(CANARY_PREFIX)).map((o) => o.inputs.bucket));
  if (dataReadLogged && buckets.size && [...buckets].every((b) => filter.includes(`buckets/${b}/objects/${CANARY_PREFIX}`))) watches.push("object");
  const accounts = g.ofType(T.key).map((k) => g.ofType(T.account).find((a) => same(k.inputs.serviceAccountId, a)));
  const emails = accounts.map((a) => a && emailOf(a));
  if (emails.length && emails.every((e) => e && filter.includes(`principalEmail="${e}"`))) watches.push("credential");
  return watches;
}

/** Does this topic's trigger run a workflow that stops or deletes the workload, with the permission to? */
function topicKills(g: ResourceGraph, topicId: string): boolean {
  const workloads = g.ofType(T.instance).filter((i) => roleOf(i) === "workload");
  return g.ofType(T.trigger).some((t) => {
    if (t.inputs.transport?.pubsub?.topic !== topicId) return false;
    const wf = g.ofType(T.workflow).find((w) => w.id === t.inputs.destination?.workflow);
    if (!wf) return false;
    const src = String(wf.inputs.sourceContents ?? "");
    if (!/googleapis\.compute\.v1\.instances\.(stop|delete)/.test(src)) return false;
    return workloads.some((w) => {
      if (!new RegExp(`instance: ${w.state.name}\\s*$`, "m").test(src)) return false;
      const runner = g.ofType(T.account).find((a) => same(wf.inputs.serviceAccount, a) || (known(wf.inputs.serviceAccount) && emailOf(a) === wf.inputs.serviceAccount));
      return g.ofType(T.instanceMember).some((m) => {
        if (m.inputs.instanceName !== w.state.name || !runner || m.inputs.member !== `serviceAccount:${emailOf(runner)}`) return false;
        const custom = g.ofType(T.customRole).find((r) => r.state.name === m.inputs.role);
        return ["roles/compute.instanceAdmin.v1", "roles/compute.instanceAdmin"].includes(m.inputs.role) || arr<string>(custom?.inputs.permissions).some((p) => p === "compute.instances.stop" || p === "compute.instances.delete");
      });
    });
  });
}

export function alarms(g: ResourceGraph): Inv.AlarmFact[] {
  const out: Inv.AlarmFact[] = [];
  for (const a of g.ofType(T.alert).filter((x) => x.inputs.enabled !== false))
    for (const c of arr<any>(a.inputs.conditions)) if (c.conditionMatchedLog) out.push({ node: a, watches: watchesOf(g, String(c.conditionMatchedLog.filter)), notifies: !!a.inputs.alertStrategy?.notificationRateLimit, kills: false });
  for (const s of g.ofType(T.sink).filter((x) => x.inputs.disabled !== true)) {
    const topicId = /^pubsub\.googleapis\.com\/(.+)$/.exec(String(s.inputs.destination ?? ""))?.[1];
    if (!topicId) continue;
    const topic = g.ofType(T.topic).find((t) => t.id === topicId);
    const canPublish = !!topic && g.ofType(T.topicMember).some((m) => (m.inputs.topic === topic.state.name || m.inputs.topic === topic.id) && m.inputs.member === s.state.writerIdentity && m.inputs.role === "roles/pubsub.publisher");
    out.push({ node: s, watches: watchesOf(g, String(s.inputs.filter)), notifies: false, kills: canPublish && topicKills(g, topicId) });
  }
  return out;
}

// ---- I7

export function ttl(g: ResourceGraph): Inv.TtlFact[] {
  return g
    .ofType(T.instance)
    .filter((i) => i.inputs.scheduling?.instanceTerminationAction === "DELETE" && (i.inputs.scheduling?.terminationTime || i.inputs.scheduling?.maxRunDuration))
    .map((i) => {
      const at = i.inputs.scheduling.terminationTime ? new Date(i.inputs.scheduling.terminationTime) : undefined;
      return { node: i, at: at && !Number.isNaN(at.getTime()) ? at : undefined, ends: [i.id!] };
    });
}

// ---- the workload's guard (I9)

export function guards(g: ResourceGraph): Inv.GuardFact[] {
  const artifactBuckets = g.ofType(T.bucket).filter((b) => roleOf(b) === "artifacts");
  return g.ofType(T.instance)
    .filter((i) => roleOf(i) === "workload")
    .flatMap((w) => {
      const script = String(w.inputs.metadata?.["startup-script"] ?? "");
      const stored = (key: string) =>
        g.ofType(T.object).some((o) => o.inputs.name === key && artifactBuckets.some((b) => o.inputs.bucket === b.state.name && script.includes(`/b/${b.state.name}/o/${encodeURIComponent(key)}`)));
      return vmGuardFact(w, script, stored) ?? [];
    });
}

// ---- the rest of the rule table (the descriptor reads this module's namespace: invariants/rule-table.ts)

export const networks = (g: ResourceGraph): GraphNode[] => g.ofType(T.network);
export const forbiddenTypes = FORBIDDEN;
/** GCP has no action that must be granted on every resource. */
export const resourceWildcardActions: ReadonlySet<string> = new Set();
export const isTaggable = isGcpLabelled;
export const labelFields = gcpLabelFields;
