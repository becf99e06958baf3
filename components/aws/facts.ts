// The AWS invariant facts: how to read the invariants' facts out of an @pulumi/aws resource graph. This
// is the only file the checks depend on that knows AWS type tokens and property names (all verified
// against @pulumi/aws 7.48.0). GCP, Azure and Kubernetes write the same CloudRuleTable in their own
// facts.ts; the descriptor (descriptor.ts) hands it to the checks in components/invariants/.
import { forbiddenByKind } from "../cloud/forbidden";
import { AWS_EXTRA_TAG_FIELDS, isAwsTaggable, ROLE_TAG } from "./taggable";
import { CANARY_PREFIX } from "../cloud/bait";
import type { ConfidentialKind } from "../spec/schema";
import { GraphNode, parseJson, ResourceGraph } from "../invariants/graph";
import type * as Inv from "../invariants/types";
import { vmGuardFact } from "../invariants/guest-guard-fact";
import { logsManagementEvents, logsObjectEvents } from "./trail-coverage";

const T = {
  vpc: "aws:ec2/vpc:Vpc",
  subnet: "aws:ec2/subnet:Subnet",
  routeTable: "aws:ec2/routeTable:RouteTable",
  defaultRouteTable: "aws:ec2/defaultRouteTable:DefaultRouteTable",
  route: "aws:ec2/route:Route",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  defaultSecurityGroup: "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
  egressRule: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  legacyRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
  vpcEndpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
  instance: "aws:ec2/instance:Instance",
  launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
  routeTableAssociation: "aws:ec2/routeTableAssociation:RouteTableAssociation",
  networkInterface: "aws:ec2/networkInterface:NetworkInterface",
  instanceProfile: "aws:iam/instanceProfile:InstanceProfile",
  flowLog: "aws:ec2/flowLog:FlowLog",
  bucket: "aws:s3/bucket:Bucket",
  bucketVersioning: "aws:s3/bucketVersioning:BucketVersioning",
  bucketLock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
  bucketPab: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  bucketObject: "aws:s3/bucketObjectv2:BucketObjectv2",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  policy: "aws:iam/policy:Policy",
  userPolicy: "aws:iam/userPolicy:UserPolicy",
  groupPolicy: "aws:iam/groupPolicy:GroupPolicy",
  rolePolicyAttachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  userPolicyAttachment: "aws:iam/userPolicyAttachment:UserPolicyAttachment",
  policyAttachment: "aws:iam/policyAttachment:PolicyAttachment",
  userGroupMembership: "aws:iam/userGroupMembership:UserGroupMembership",
  accessKey: "aws:iam/accessKey:AccessKey",
  topicPolicy: "aws:sns/topicPolicy:TopicPolicy",
  topic: "aws:sns/topic:Topic",
  trail: "aws:cloudtrail/trail:Trail",
  /** The account trail as a sandbox found it at preview (shared-trail.ts ADOPTED_TRAIL_TYPE; a component). */
  adoptedTrail: "airlock:aws:AdoptedTrail",
  eventRule: "aws:cloudwatch/eventRule:EventRule",
  eventTarget: "aws:cloudwatch/eventTarget:EventTarget",
  schedule: "aws:scheduler/schedule:Schedule",
  dnsDomainList: "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList",
  dnsRule: "aws:route53/resolverFirewallRule:ResolverFirewallRule",
  dnsAssociation: "aws:route53/resolverFirewallRuleGroupAssociation:ResolverFirewallRuleGroupAssociation",
  dnsConfig: "aws:route53/resolverFirewallConfig:ResolverFirewallConfig",
} as const;

const FORBIDDEN = forbiddenByKind({
  internetGateway: ["aws:ec2/internetGateway:InternetGateway", "aws:ec2/internetGatewayAttachment:InternetGatewayAttachment", "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway"],
  nat: ["aws:ec2/natGateway:NatGateway"],
  publicAddress: ["aws:ec2/eip:Eip", "aws:ec2/eipAssociation:EipAssociation"],
  otherNetwork: ["aws:ec2/carrierGateway:CarrierGateway", "aws:ec2/vpcPeeringConnection:VpcPeeringConnection", "aws:ec2/vpnGateway:VpnGateway", "aws:ec2/vpnGatewayAttachment:VpnGatewayAttachment", "aws:ec2transitgateway/vpcAttachment:VpcAttachment"],
  sshKey: ["aws:ec2/keyPair:KeyPair"],
});

/** EC2 calls with no resource-level permissions (Resource must be "*"). */
const RESOURCE_WILDCARD_ACTIONS = new Set(["ec2:DescribeInstances", "ec2:DescribeInstanceStatus"]);

const arr = <T>(v: T | T[] | undefined | null): T[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

function roleOf(node: GraphNode | undefined): Inv.Role {
  const r = node?.inputs?.tags?.[ROLE_TAG];
  return (["workload", "gate", "target", "endpoint", "record", "artifacts"] as const).find((x) => x === r) ?? "unknown";
}

function vpcs(g: ResourceGraph): GraphNode[] {
  return g.ofType(T.vpc);
}

// ---- routes and exposures (I1)

export function routes(g: ResourceGraph): Inv.RouteFact[] {
  const out: Inv.RouteFact[] = [];
  const via = (r: any) => r.gatewayId ?? r.natGatewayId ?? r.egressOnlyGatewayId ?? r.transitGatewayId ?? r.vpcPeeringConnectionId ?? r.networkInterfaceId ?? r.vpcEndpointId ?? r.carrierGatewayId ?? "?";
  for (const t of g.ofType(T.routeTable, T.defaultRouteTable))
    for (const r of arr<any>(t.inputs.routes)) for (const dest of [r.cidrBlock, r.ipv6CidrBlock].filter(Boolean)) out.push({ node: t, table: t, destination: dest, via: via(r) });
  for (const r of g.ofType(T.route)) {
    const table = routeTableById(g, r.inputs.routeTableId);
    for (const dest of [r.inputs.destinationCidrBlock, r.inputs.destinationIpv6CidrBlock].filter(Boolean)) out.push({ node: r, table, destination: dest, via: via(r.inputs) });
  }
  return out;
}

export function exposures(g: ResourceGraph): Inv.ExposureFact[] {
  const out: Inv.ExposureFact[] = [];
  for (const i of g.ofType(T.instance)) {
    // Closed means explicitly false: left unset, the subnet's setting decides.
    if (i.inputs.associatePublicIpAddress !== false) out.push({ node: i, role: roleOf(i), detail: `associatePublicIpAddress is ${JSON.stringify(i.inputs.associatePublicIpAddress)}` });
    if (arr<any>(i.inputs.networkInterfaces).length) out.push({ node: i, role: roleOf(i), detail: "attaches network interfaces whose addressing is not checked here" });
  }
  for (const s of g.ofType(T.subnet)) {
    if (s.inputs.mapPublicIpOnLaunch !== false) out.push({ node: s, role: "unknown", detail: `mapPublicIpOnLaunch is ${JSON.stringify(s.inputs.mapPublicIpOnLaunch)}` });
    if (s.inputs.assignIpv6AddressOnCreation === true) out.push({ node: s, role: "unknown", detail: "assigns global IPv6 addresses" });
  }
  for (const t of g.ofType(T.launchTemplate))
    for (const ni of arr<any>(t.inputs.networkInterfaces)) if (ni.associatePublicIpAddress !== "false" && ni.associatePublicIpAddress !== false) out.push({ node: t, role: "unknown", detail: "launch template may associate a public IP" });
  return out;
}

export function openDefaults(g: ResourceGraph): Inv.OpenDefaultFact[] {
  const out: Inv.OpenDefaultFact[] = [];
  for (const vpc of vpcs(g)) {
    const sg = g.ofType(T.defaultSecurityGroup).find((n) => n.inputs.vpcId === vpc.id);
    if (!sg) {
      out.push({ node: vpc, concern: "egress", detail: "the VPC's default security group is not taken over (AWS's default allows all egress)" });
      out.push({ node: vpc, concern: "ingress", detail: "the VPC's default security group is not taken over (AWS's default allows all traffic from itself)" });
    } else {
      if (arr(sg.inputs.egress).length) out.push({ node: sg, concern: "egress", detail: "the default security group keeps egress rules" });
      if (arr(sg.inputs.ingress).length) out.push({ node: sg, concern: "ingress", detail: "the default security group keeps ingress rules" });
    }
    const rt = g.ofType(T.defaultRouteTable).find((n) => n.inputs.defaultRouteTableId === vpc.state.defaultRouteTableId);
    if (!rt) out.push({ node: vpc, concern: "routes", detail: "the VPC's main route table is not taken over (routes added to it later would apply to every subnet without its own table)" });
  }
  return out;
}

/** A route table by id: an explicit table, or the VPC's main table (taken over or not). */
function routeTableById(g: ResourceGraph, id: unknown): GraphNode | undefined {
  return g.byId(id, T.routeTable) ?? g.ofType(T.defaultRouteTable).find((t) => t.inputs.defaultRouteTableId === id) ?? vpcs(g).find((v) => v.state.defaultRouteTableId === id);
}

// ---- placement and membership, by reference (I1–I4 through invariants/reach.ts)

/** Members: instances, network interfaces and VPC endpoints (each named by its own role tag). */
function members(g: ResourceGraph): GraphNode[] {
  return g.ofType(T.instance, T.networkInterface, T.vpcEndpoint);
}

function securityGroupByRef(g: ResourceGraph, ref: unknown, vpcId?: string): GraphNode | undefined {
  // vpcSecurityGroupIds name ids; EC2-Classic style `securityGroups` may name groups by name.
  return g.byId(ref, T.securityGroup) ?? g.byId(ref, T.defaultSecurityGroup) ?? g.ofType(T.securityGroup).find((sg) => sg.state.name === ref && (!vpcId || sg.inputs.vpcId === vpcId));
}

export function memberships(g: ResourceGraph): Inv.MembershipFact[] {
  const out: Inv.MembershipFact[] = [];
  const join = (member: GraphNode, role: Inv.Role, refs: unknown, via: string) => {
    for (const ref of arr<unknown>(refs as any)) {
      const group = securityGroupByRef(g, ref);
      if (group) out.push({ member, role, group, via });
    }
  };
  for (const m of members(g)) {
    const role = roleOf(m);
    join(m, role, m.inputs.vpcSecurityGroupIds, "vpcSecurityGroupIds");
    join(m, role, m.inputs.securityGroups, "securityGroups");
    join(m, role, m.inputs.securityGroupIds, "securityGroupIds");
    // Interfaces described inline on the instance (their groups apply to the instance too).
    for (const ni of arr<any>(m.inputs.networkInterfaces)) {
      const eni = g.byId(ni.networkInterfaceId, T.networkInterface);
      if (eni) join(m, role, eni.inputs.securityGroups, "networkInterfaces");
    }
  }
  // A standalone interface attached to an instance carries the instance's traffic.
  for (const a of g.ofType("aws:ec2/networkInterfaceAttachment:NetworkInterfaceAttachment")) {
    const eni = g.byId(a.inputs.networkInterfaceId, T.networkInterface);
    const instance = g.byId(a.inputs.instanceId, T.instance);
    if (eni && instance) join(instance, roleOf(instance), eni.inputs.securityGroups, "networkInterfaceAttachment");
  }
  return out;
}

/** The route table a subnet uses: its explicit association, else the VPC's main table. */
function routeTableOf(g: ResourceGraph, subnet: GraphNode): GraphNode | undefined {
  const assoc = g.ofType(T.routeTableAssociation).find((a) => a.inputs.subnetId === subnet.id);
  if (assoc) return routeTableById(g, assoc.inputs.routeTableId);
  const vpc = g.byId(subnet.inputs.vpcId, T.vpc);
  return vpc ? routeTableById(g, vpc.state.defaultRouteTableId) : undefined;
}

export function placements(g: ResourceGraph): Inv.PlacementFact[] {
  const out: Inv.PlacementFact[] = [];
  const place = (member: GraphNode, subnetId: unknown) => {
    const subnet = g.byId(subnetId, T.subnet);
    if (subnet) out.push({ member, role: roleOf(member), subnet, routeTable: routeTableOf(g, subnet) });
  };
  for (const m of members(g)) {
    place(m, m.inputs.subnetId);
    for (const id of arr<string>(m.inputs.subnetIds)) place(m, id);
    for (const ni of arr<any>(m.inputs.networkInterfaces)) place(m, g.byId(ni.networkInterfaceId, T.networkInterface)?.inputs.subnetId);
  }
  return out;
}

export function identityUses(g: ResourceGraph): Inv.IdentityUseFact[] {
  const out: Inv.IdentityUseFact[] = [];
  for (const i of g.ofType(T.instance)) {
    const ref = i.inputs.iamInstanceProfile;
    const profile = g.ofType(T.instanceProfile).find((p) => p.state.name === ref || p.id === ref || p.state.arn === ref);
    if (!profile) continue;
    const role = g.ofType(T.role).find((r) => r.state.name === profile.inputs.role || r.id === profile.inputs.role);
    out.push({ member: i, role: roleOf(i), identity: role ?? profile, via: "iamInstanceProfile" });
  }
  return out;
}

// ---- firewall (I2, I3)

function peerOf(g: ResourceGraph, r: { referencedSecurityGroupId?: string; prefixListId?: string; cidrIpv4?: string; cidrIpv6?: string }, selfId?: string): Inv.Peer {
  if (r.referencedSecurityGroupId) {
    if (r.referencedSecurityGroupId === selfId) return { kind: "self" };
    const sg = securityGroupByRef(g, r.referencedSecurityGroupId);
    return sg ? { kind: "group", group: sg } : { kind: "unknown", ref: r.referencedSecurityGroupId };
  }
  if (r.prefixListId) {
    const endpoint = g.byState("prefixListId", r.prefixListId, T.vpcEndpoint);
    if (!endpoint) return { kind: "unknown", ref: r.prefixListId };
    return { kind: "service", serves: endpointServes(g, endpoint), detail: `${endpoint.inputs.serviceName} (gateway endpoint)` };
  }
  if (r.cidrIpv4) return { kind: "cidr", cidr: r.cidrIpv4 };
  if (r.cidrIpv6) return { kind: "cidr", cidr: r.cidrIpv6 };
  return { kind: "unknown", ref: "(no peer)" };
}

/** What a gateway endpoint's policy lets through: the record, the artifacts, or anything else. */
function endpointServes(g: ResourceGraph, endpoint: GraphNode): "record" | "artifacts" | "record+artifacts" | "other" {
  const doc = parseJson(endpoint.inputs.policy);
  if (!doc) return "other";
  const buckets = new Set<string>();
  for (const s of arr<any>(doc.Statement)) for (const r of arr<string>(s.Resource)) buckets.add(r.replace(/^arn:[^:]+:s3:::/, "").split("/")[0]);
  const roles = [...buckets].map((b) => roleOf(g.byState("bucket", b, T.bucket)));
  if (roles.length === 0 || roles.some((r) => r !== "record" && r !== "artifacts")) return "other";
  const hasRecord = roles.includes("record");
  const hasArtifacts = roles.includes("artifacts");
  return hasRecord && hasArtifacts ? "record+artifacts" : hasRecord ? "record" : "artifacts";
}

function ports(r: { ipProtocol?: string; protocol?: string; fromPort?: number; toPort?: number }): string {
  const proto = r.ipProtocol ?? r.protocol;
  if (proto === "-1" || proto === "all") return "all";
  return r.fromPort === r.toPort ? `${proto}/${r.fromPort}` : `${proto}/${r.fromPort}-${r.toPort}`;
}

export function groupRules(g: ResourceGraph): Inv.GroupRuleFact[] {
  const out: Inv.GroupRuleFact[] = [];
  // A rule whose group is not in the graph still counts, on a stand-in group nothing is a member of.
  const groupOf = (node: GraphNode, id: unknown): GraphNode => securityGroupByRef(g, id) ?? { ...node, urn: `${node.urn}#group`, name: `${String(id)} (not in the graph)` };
  for (const r of g.ofType(T.egressRule, T.ingressRule)) {
    out.push({ node: r, direction: r.type === T.egressRule ? "egress" : "ingress", group: groupOf(r, r.inputs.securityGroupId), peer: peerOf(g, r.inputs, r.inputs.securityGroupId), ports: ports(r.inputs) });
  }
  // Inline rules (on a group, or the legacy rule resource) name several peers at once.
  const inline = (node: GraphNode, direction: "egress" | "ingress", group: GraphNode, rule: any, selfId?: string) => {
    const peers: Inv.Peer[] = [
      ...arr<string>(rule.cidrBlocks).map((c) => ({ kind: "cidr", cidr: c }) as Inv.Peer),
      ...arr<string>(rule.ipv6CidrBlocks).map((c) => ({ kind: "cidr", cidr: c }) as Inv.Peer),
      ...arr<string>(rule.securityGroups ?? (rule.sourceSecurityGroupId ? [rule.sourceSecurityGroupId] : [])).map((id) => peerOf(g, { referencedSecurityGroupId: id }, selfId)),
      ...arr<string>(rule.prefixListIds).map((id) => peerOf(g, { prefixListId: id })),
      ...(rule.self ? [{ kind: "self" } as Inv.Peer] : []),
    ];
    for (const peer of peers.length ? peers : [{ kind: "unknown", ref: "(no peer)" } as Inv.Peer]) out.push({ node, direction, group, peer, ports: ports(rule) });
  };
  for (const sg of g.ofType(T.securityGroup, T.defaultSecurityGroup)) {
    for (const rule of arr<any>(sg.inputs.egress)) inline(sg, "egress", sg, rule, sg.id);
    for (const rule of arr<any>(sg.inputs.ingress)) inline(sg, "ingress", sg, rule, sg.id);
  }
  for (const r of g.ofType(T.legacyRule)) inline(r, r.inputs.type === "egress" ? "egress" : "ingress", groupOf(r, r.inputs.securityGroupId), r.inputs, r.inputs.securityGroupId);
  return out;
}

export function dns(g: ResourceGraph): Inv.DnsFact {
  const nets = vpcs(g);
  const problems: string[] = [];
  const nodes: GraphNode[] = [];
  for (const vpc of nets) {
    if (vpc.inputs.enableDnsSupport === false) continue; // no resolver at all
    const assocs = g.ofType(T.dnsAssociation).filter((a) => a.inputs.vpcId === vpc.id);
    nodes.push(...assocs);
    const rules = g.ofType(T.dnsRule).filter((r) => assocs.some((a) => a.inputs.firewallRuleGroupId === r.inputs.firewallRuleGroupId));
    const listOf = (r: GraphNode) => arr<string>(g.byId(r.inputs.firewallDomainListId, T.dnsDomainList)?.inputs.domains);
    const blockAll = rules.filter((r) => r.inputs.action === "BLOCK" && listOf(r).includes("*"));
    const allowAll = rules.filter((r) => r.inputs.action === "ALLOW" && listOf(r).some((d) => d === "*" || d === "*.com" || d === "*.amazonaws.com"));
    if (assocs.length === 0) problems.push(`VPC ${vpc.name} has no resolver firewall: any name resolves`);
    else if (blockAll.length === 0) problems.push(`VPC ${vpc.name}: the resolver firewall does not block every other name`);
    else if (allowAll.length) problems.push(`VPC ${vpc.name}: the resolver firewall allows a wildcard domain`);
    const config = g.ofType(T.dnsConfig).find((c) => c.inputs.resourceId === vpc.id);
    if (config?.inputs.firewallFailOpen === "ENABLED") problems.push(`VPC ${vpc.name}: the resolver firewall fails open`);
  }
  return { restricted: problems.length === 0, detail: problems.join("; ") || "allowlist only", nodes };
}

// ---- policies (I4)

function statements(doc: any): Inv.PolicyStatementFact[] {
  return arr<any>(doc?.Statement).map((s) => {
    const principal = s.Principal;
    const anyPrincipal = principal === "*" || arr(principal?.AWS).includes("*");
    return {
      effect: s.Effect === "Deny" ? "Deny" : "Allow",
      actions: arr<string>(s.Action ?? s.NotAction),
      negated: s.NotAction !== undefined || s.NotResource !== undefined,
      resources: arr<string>(s.Resource ?? s.NotResource),
      anyPrincipal,
      conditioned: s.Condition !== undefined && Object.keys(s.Condition).length > 0,
    };
  });
}

const FULL_ACCESS: Inv.PolicyStatementFact = { effect: "Allow", actions: ["*"], negated: false, resources: ["*"], anyPrincipal: true, conditioned: false };

export function policies(g: ResourceGraph): Inv.PolicyFact[] {
  const out: Inv.PolicyFact[] = [];
  for (const r of g.ofType(T.role)) {
    out.push({ node: r, kind: "trust", statements: statements(parseJson(r.inputs.assumeRolePolicy)) });
    for (const p of arr<any>(r.inputs.inlinePolicies)) out.push({ node: r, kind: "identity", statements: statements(parseJson(p.policy)) });
    for (const arn of arr<string>(r.inputs.managedPolicyArns)) out.push({ node: r, kind: "identity", statements: [], opaque: `managed policy ${arn}` });
  }
  for (const p of g.ofType(T.rolePolicy, T.policy, T.userPolicy, T.groupPolicy)) out.push({ node: p, kind: "identity", statements: statements(parseJson(p.inputs.policy)) });
  for (const a of g.ofType(T.rolePolicyAttachment, T.userPolicyAttachment, T.policyAttachment)) out.push({ node: a, kind: "identity", statements: [], opaque: `attached policy ${a.inputs.policyArn}` });
  for (const p of g.ofType(T.bucketPolicy, T.topicPolicy)) out.push({ node: p, kind: "resource", statements: statements(parseJson(p.inputs.policy)) });
  // An endpoint without a policy gets AWS's default: full access for anyone.
  for (const e of g.ofType(T.vpcEndpoint)) out.push({ node: e, kind: "endpoint", statements: e.inputs.policy ? statements(parseJson(e.inputs.policy)) : [FULL_ACCESS] });
  return out;
}

// ---- compute (I4, I7, I8)

function teeOf(i: GraphNode): ConfidentialKind {
  if (i.inputs.cpuOptions?.amdSevSnp === "enabled") return "sev-snp";
  if (i.inputs.enclaveOptions?.enabled === true) return "nitro-enclave";
  return "none";
}

function metadataOf(i: GraphNode): { hardened: boolean; detail: string } {
  const m = i.inputs.metadataOptions;
  if (!m) return { hardened: false, detail: "no metadataOptions (IMDSv1 allowed, defaults apply)" };
  if (m.httpEndpoint === "disabled") return { hardened: true, detail: "metadata service off" };
  const problems = [
    m.httpTokens !== "required" && `httpTokens is ${JSON.stringify(m.httpTokens)} (IMDSv1 allowed)`,
    m.httpPutResponseHopLimit !== 1 && `httpPutResponseHopLimit is ${JSON.stringify(m.httpPutResponseHopLimit)}`,
    m.instanceMetadataTags === "enabled" && "instance tags are exposed in metadata",
  ].filter(Boolean);
  return { hardened: problems.length === 0, detail: problems.join(", ") || "IMDSv2 only, hop limit 1" };
}

export function compute(g: ResourceGraph): Inv.ComputeFact[] {
  return g.ofType(T.instance).map((i) => ({
    node: i,
    role: roleOf(i),
    metadata: metadataOf(i),
    sshKey: i.inputs.keyName,
    tee: teeOf(i),
    machineType: i.inputs.instanceType,
    shutdownDeletes: i.inputs.instanceInitiatedShutdownBehavior === "terminate",
    // The bootstrap's systemd unit names the user (../cloud/boot.ts); a pre-baked image would have to say.
    runsAs: /^User=(\S+)$/m.exec(String(i.inputs.userData ?? ""))?.[1],
  }));
}

// ---- record and artifacts stores (I5)

/** Does a bucket-level resource (versioning, lock, policy) name this bucket, by id or by name? */
const inBucket = (n: GraphNode, b: GraphNode) => n.inputs.bucket === b.id || n.inputs.bucket === b.state.bucket;

/** The bucket's S3 Object Lock: on at creation (objectLockEnabled) and a default retention (mode + days) on it. */
function objectLockOf(g: ResourceGraph, b: GraphNode): Inv.RecordFact["lock"] {
  const retention = g.ofType(T.bucketLock).find((n) => inBucket(n, b))?.inputs.rule?.defaultRetention;
  if (b.inputs.objectLockEnabled !== true || !retention?.mode) return undefined;
  return { mode: String(retention.mode).toLowerCase() as "compliance" | "governance", days: retention.days ?? (retention.years ?? 0) * 365 };
}

/** The artifacts bucket(s): the installed files and the canary objects (artifacts.ts, canaries.ts). */
export function artifactStores(g: ResourceGraph): Inv.ArtifactStoreFact[] {
  return g.ofType(T.bucket).filter((b) => roleOf(b) === "artifacts").map((b) => ({ node: b, holds: "installed files and canaries", lock: objectLockOf(g, b) }));
}

export function recordStores(g: ResourceGraph): Inv.RecordFact[] {
  const tagged = g.ofType(T.bucket).filter((b) => roleOf(b) === "record");
  const flowTargets = g.ofType(T.bucket).filter((b) => g.ofType(T.flowLog).some((f) => String(f.inputs.logDestination ?? "").startsWith(b.state.arn)));
  const stores = [...new Set([...tagged, ...flowTargets])];
  return stores.map((b) => {
    const sameBucket = (n: GraphNode) => inBucket(n, b);
    const lock = objectLockOf(g, b);
    const versioned = g.ofType(T.bucketVersioning).some((v) => sameBucket(v) && v.inputs.versioningConfiguration?.status === "Enabled");
    const pab = g.ofType(T.bucketPab).find(sameBucket)?.inputs;
    const publicAccessBlocked = !!pab && pab.blockPublicAcls === true && pab.blockPublicPolicy === true && pab.ignorePublicAcls === true && pab.restrictPublicBuckets === true;
    const endpointIds = new Set(g.ofType(T.vpcEndpoint).map((e) => e.id));
    const writesOnlyFromBoundary = g.ofType(T.bucketPolicy).filter(sameBucket).some((p) =>
      arr<any>(parseJson(p.inputs.policy)?.Statement).some((s) => {
        const actions = arr<string>(s.Action);
        const vpce = s.Condition?.StringNotEquals?.["aws:SourceVpce"];
        return s.Effect === "Deny" && ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"].every((a) => actions.includes(a) || actions.includes("s3:*")) && arr<string>(vpce).some((id) => endpointIds.has(id));
      }),
    );
    return { node: b, lock, versioned, publicAccessBlocked, writesOnlyFromBoundary };
  });
}

export function flowLogs(g: ResourceGraph): Inv.FlowLogFact[] {
  const records = recordStores(g).map((r) => r.node.state.arn as string);
  return g.ofType(T.flowLog).map((f) => ({
    node: f,
    allTraffic: f.inputs.trafficType === "ALL",
    toRecord: records.some((arn) => String(f.inputs.logDestination ?? "").startsWith(arn)),
    covers: [f.inputs.vpcId, f.inputs.subnetId].filter(Boolean),
  }));
}

// ---- canaries and alarms (I6)

export function canaries(g: ResourceGraph): Inv.CanaryFact[] {
  const out: Inv.CanaryFact[] = [];
  for (const w of g.ofType(T.instance).filter((i) => roleOf(i) === "workload")) {
    // Files the bootstrap writes under the user's home (../cloud/boot.ts writes them with `cat > '<path>'`).
    for (const m of String(w.inputs.userData ?? "").matchAll(/^cat > '(?:\/home\/[^/']+|\/root)\/([^']+)' <</gm)) out.push({ kind: "file", path: m[1], node: w });
  }
  for (const o of g.ofType(T.bucketObject).filter((o) => String(o.inputs.key ?? "").startsWith(CANARY_PREFIX))) out.push({ kind: "object", path: o.inputs.key.slice(CANARY_PREFIX.length), node: o });
  for (const k of g.ofType(T.accessKey)) {
    const user = k.inputs.user;
    const grants = [
      ...g.ofType(T.userPolicy, T.userPolicyAttachment).filter((p) => p.inputs.user === user),
      ...g.ofType(T.policyAttachment).filter((p) => arr(p.inputs.users).includes(user)),
      ...g.ofType(T.userGroupMembership).filter((m) => m.inputs.user === user),
    ];
    out.push({ kind: "credential", path: String(user), node: k, grants });
  }
  return out;
}

/**
 * The trails that deliver: a sandbox creates none — it adopts the account's one shared trail and keeps
 * what it found as an AdoptedTrail component (shared-trail.ts) — but a graph is judged on every trail it holds.
 */
export function alarms(g: ResourceGraph): Inv.AlarmFact[] {
  const trails = g.ofType(T.trail, T.adoptedTrail).filter((t) => t.inputs.enableLogging !== false && (t.type === T.trail || t.inputs.isMultiRegionTrail === true));
  const selectors = trails.flatMap((t) => arr<any>(t.inputs.advancedEventSelectors));
  const managementLogged = logsManagementEvents(selectors);
  const canaryObjects = g.ofType(T.bucketObject).filter((o) => String(o.inputs.key ?? "").startsWith(CANARY_PREFIX));
  const bucketOf = (o: GraphNode) => String(g.byId(o.inputs.bucket, T.bucket)?.state.bucket ?? o.inputs.bucket);
  const canaryBuckets = new Set(canaryObjects.map(bucketOf));
  const objectArns = canaryObjects.map((o) => `arn:aws:s3:::${bucketOf(o)}/${o.inputs.key}`);
  const dataLogged = (arn: string) => logsObjectEvents(selectors, arn);
  const keyIds = new Set(g.ofType(T.accessKey).map((k) => k.id));
  const topicArns = new Set(g.ofType(T.topic).map((t) => t.state.arn));
  const workloadIds = new Set(g.ofType(T.instance).filter((i) => roleOf(i) === "workload").map((i) => i.id));

  return g.ofType(T.eventRule).map((rule) => {
    const pattern = parseJson(rule.inputs.eventPattern) ?? {};
    const watches: ("object" | "credential")[] = [];
    const keys = arr<any>(pattern.detail?.requestParameters?.key);
    const watchesPrefix = keys.some((k) => k === CANARY_PREFIX || (typeof k === "object" && String(k.prefix ?? "").startsWith(CANARY_PREFIX)));
    // Only this sandbox's canary buckets: with one trail for the account, a rule without a bucket (or
    // naming another's) would stop this workload when another sandbox touches its canaries.
    const buckets = arr<unknown>(pattern.detail?.requestParameters?.bucketName);
    const ownBuckets = buckets.length > 0 && buckets.every((b) => typeof b === "string" && canaryBuckets.has(b));
    if (watchesPrefix && ownBuckets && objectArns.length && objectArns.every(dataLogged)) watches.push("object");
    if (managementLogged && arr<string>(pattern.detail?.userIdentity?.accessKeyId).some((id) => keyIds.has(id))) watches.push("credential");
    const targets = g.ofType(T.eventTarget).filter((t) => t.inputs.rule === rule.state.name || t.inputs.rule === rule.id);
    const notifies = targets.some((t) => topicArns.has(t.inputs.arn));
    const kills = targets.some((t) => {
      const stopsOrTerminates = /:automation-definition\/AWS-(StopEC2Instance|TerminateEC2Instance)(:|$)/.test(String(t.inputs.arn)) || /aws-sdk:ec2:(stop|terminate)Instances$/.test(String(t.inputs.arn));
      const input = parseJson(t.inputs.input) ?? {};
      return stopsOrTerminates && [...arr<string>(input.InstanceId), ...arr<string>(input.InstanceIds)].some((id) => workloadIds.has(id));
    });
    return { node: rule, watches, notifies, kills };
  });
}

// ---- TTL (I7)

export function ttl(g: ResourceGraph): Inv.TtlFact[] {
  return g
    .ofType(T.schedule)
    .filter((s) => s.inputs.state !== "DISABLED" && /aws-sdk:ec2:terminateInstances$/.test(String(s.inputs.target?.arn)))
    .map((s) => {
      const m = /^at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)$/.exec(String(s.inputs.scheduleExpression));
      const utc = (s.inputs.scheduleExpressionTimezone ?? "UTC") === "UTC";
      return { node: s, at: m && utc ? new Date(`${m[1]}Z`) : undefined, ends: arr<string>(parseJson(s.inputs.target?.input)?.InstanceIds) };
    });
}

// ---- the workload's guard (I9)

export function guards(g: ResourceGraph): Inv.GuardFact[] {
  const artifactBuckets = g.ofType(T.bucket).filter((b) => roleOf(b) === "artifacts");
  return g.ofType(T.instance)
    .filter((i) => roleOf(i) === "workload")
    .flatMap((w) => {
      const script = String(w.inputs.userData ?? "");
      // Stored: an object with the key in an artifacts bucket this script fetches from.
      const stored = (key: string) =>
        g.ofType(T.bucketObject).some((o) => o.inputs.key === key && artifactBuckets.some((b) => (o.inputs.bucket === b.id || o.inputs.bucket === b.state.bucket) && script.includes(`s3://${b.state.bucket}/${key}`)));
      return vmGuardFact(w, script, stored) ?? [];
    });
}

// ---- the rest of the rule table (the descriptor reads this module's namespace: invariants/rule-table.ts)

export const networks = vpcs;
export const forbiddenTypes = FORBIDDEN;
export const declaredRole = roleOf;
export const resourceWildcardActions: ReadonlySet<string> = RESOURCE_WILDCARD_ACTIONS;
export const isTaggable = isAwsTaggable;
export const labelFields = (type: string): readonly string[] => ["tags", ...(AWS_EXTRA_TAG_FIELDS[type] ?? [])];
