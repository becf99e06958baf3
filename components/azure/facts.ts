// The Azure rule table: how the invariants' facts are read out of an @pulumi/azure-native resource
// graph (type tokens and property names checked against azure-native 3.28.0 .d.ts files). Every
// fact follows the graph's own references — VM -> NIC -> subnet / NSG -> rules -> the NIC or private
// endpoint that holds the addressed IP; subnet -> route table -> routes; role assignment -> role
// definition -> actions; alert -> action group -> workflow -> ARM call -> VM — and tags only *name*
// what a VM is for. So a workload NIC placed in the gate's subnet, or given the gate's NSG, gets the
// gate's allows as its own and fails I2.
import { forbiddenByKind } from "../cloud/forbidden";
import type { ConfidentialKind } from "../spec/schema";
import { GraphNode, ResourceGraph } from "../invariants/graph";
import { vmGuardFact } from "../invariants/guest-guard-fact";
import type { GuardFact } from "../invariants/types";
import type { AlarmFact, ArtifactStoreFact, CanaryFact, ComputeFact, DnsFact, ExposureFact, FlowLogFact, GroupRuleFact, IdentityUseFact, MembershipFact, OpenDefaultFact, Peer, PlacementFact, PolicyFact, RecordFact, Role, RouteFact, TtlFact } from "../invariants/types";
import { isAzureTaggable, ROLE_TAG } from "./taggable";
import { teeOfSize } from "./rules";
import { CONTAINERS, SEALED_KEY_COMMENT, STOPPED } from "./names";
import { UNKNOWN } from "../invariants/engine-graph";

const T = {
  vnet: "azure-native:network:VirtualNetwork",
  subnet: "azure-native:network:Subnet",
  nsg: "azure-native:network:NetworkSecurityGroup",
  securityRule: "azure-native:network:SecurityRule",
  routeTable: "azure-native:network:RouteTable",
  route: "azure-native:network:Route",
  nic: "azure-native:network:NetworkInterface",
  publicIp: "azure-native:network:PublicIPAddress",
  pe: "azure-native:network:PrivateEndpoint",
  flowLog: "azure-native:network:FlowLog",
  vm: "azure-native:compute:VirtualMachine",
  account: "azure-native:storage:StorageAccount",
  blobService: "azure-native:storage:BlobServiceProperties",
  container: "azure-native:storage:BlobContainer",
  worm: "azure-native:storage:BlobContainerImmutabilityPolicy",
  blob: "azure-native:storage:Blob",
  roleDefinition: "azure-native:authorization:RoleDefinition",
  roleAssignment: "azure-native:authorization:RoleAssignment",
  uai: "azure-native:managedidentity:UserAssignedIdentity",
  workflow: "azure-native:logic:Workflow",
  queryRule: "azure-native:monitor:ScheduledQueryRule",
  actionGroup: "azure-native:monitor:ActionGroup",
  diagnostic: "azure-native:monitor:DiagnosticSetting",
  dnsLink: "azure-native:dnsresolver:DnsResolverPolicyVirtualNetworkLink",
  dnsRule: "azure-native:dnsresolver:DnsSecurityRule",
  dnsList: "azure-native:dnsresolver:DnsResolverDomainList",
} as const;

const FORBIDDEN = forbiddenByKind({
  publicEntry: ["azure-native:network:BastionHost"],
  publicAddress: ["azure-native:network:PublicIPPrefix"],
  sshKey: ["azure-native:compute:SshPublicKey"],
  // Run Command, custom script: code pushed into a machine from outside.
  pushedIn: ["azure-native:compute:VirtualMachineExtension"],
  // A load balancer's outbound rules (and public frontends) are a path out, like a NAT gateway.
  nat: ["azure-native:network:NatGateway", "azure-native:network:LoadBalancer"],
  otherNetwork: ["azure-native:network:VirtualNetworkPeering", "azure-native:network:VirtualNetworkGateway"],
});

const arr = <X>(v: X | X[] | undefined | null): X[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
const same = (a: unknown, b: unknown) => typeof a === "string" && typeof b === "string" && a.toLowerCase() === b.toLowerCase();
const under = (id: unknown, parent: unknown) => typeof id === "string" && typeof parent === "string" && id.toLowerCase().startsWith(parent.toLowerCase() + "/");

// ---- what a resource is called before it exists
//
// A preview has no outputs: not a resource's `name`, not an identity's `principalId`, not an ARM id.
// Where an input decides the value the facts read that input; where a property is a reference to
// another resource's output that the engine cannot give yet, engine-graph.ts has resolved it to that
// resource's id, and the facts match the reference to the resource, not to the value. Where neither
// decides, nothing matches and the checks report it fail-closed.

const known = (v: unknown): v is string => typeof v === "string" && v !== "" && v !== UNKNOWN;

/** The input that sets each type's name (storage/storageAccount.d.ts accountName, storage/blobContainer.d.ts containerName, network/networkSecurityGroup.d.ts, network/routeTable.d.ts). */
const NAME_INPUT: Record<string, string> = { [T.account]: "accountName", [T.container]: "containerName", [T.nsg]: "networkSecurityGroupName", [T.routeTable]: "routeTableName" };

/** A resource's name: the `name` output once it exists, before that the input that sets it. */
function nameOf(n: GraphNode | undefined): string | undefined {
  if (!n) return undefined;
  if (known(n.state?.name)) return n.state.name;
  const input = n.inputs[NAME_INPUT[n.type]];
  return known(input) ? input : undefined;
}

/** Whether a name-valued property (a container's `accountName`) names `n`: by the name, or as a reference to `n` resolved to its id. */
function names(value: unknown, n: GraphNode): boolean {
  return known(value) && (value === n.id || same(value, nameOf(n)));
}

/** Whether a principal-valued property (a role assignment's `principalId`) is identity `u`'s: its principalId output, or a reference to `u` resolved to its id. */
function principalOf(value: unknown, u: GraphNode): boolean {
  return known(value) && (value === u.id || (known(u.state?.principalId) && value === u.state.principalId));
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The ARM path a storage account or container has, from its names: a storage account's name is
 * unique across Azure (it is the DNS label of <name>.blob.core.windows.net; storageAccount.d.ts
 * accountName), so `…/storageAccounts/<name>` is that one account whatever subscription and group
 * come before it — which a preview does not know. Undefined for other types, or a name not known.
 */
function storagePath(g: ResourceGraph, n: GraphNode): RegExp | undefined {
  const account = n.type === T.account ? n : n.type === T.container ? g.ofType(T.account).find((a) => names(n.inputs.accountName, a)) : undefined;
  const accountName = nameOf(account);
  if (!accountName) return undefined;
  const prefix = `^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.Storage/storageAccounts/${escape(accountName)}`;
  if (n.type === T.account) return new RegExp(prefix, "i");
  const container = nameOf(n);
  return container ? new RegExp(`${prefix}/blobServices/default/containers/${escape(container)}`, "i") : undefined;
}

/** Whether ARM path `path` is resource `n` (`within`: or lies under it): by its id, or where that is not known yet by the path its names give. */
function armPathOf(g: ResourceGraph, path: string, n: GraphNode, within: boolean): boolean {
  if (same(path, n.id) || (within && under(path, n.id))) return true;
  const p = storagePath(g, n);
  return !!p && new RegExp(`${p.source}${within ? "(/|$)" : "$"}`, "i").test(path);
}

/** Whether a role assignment's scope covers ARM path `path`: the same or a parent path, or a reference to a resource that path is, or lies under. */
function scopeCovers(g: ResourceGraph, scope: unknown, path: string): boolean {
  if (!known(scope)) return false;
  if (same(scope, path) || under(path, scope)) return true;
  const target = g.byId(scope);
  return !!target && armPathOf(g, path, target, true);
}

function taggedRole(n: GraphNode | undefined): Role {
  const r = n?.inputs?.tags?.[ROLE_TAG];
  return (["workload", "gate", "target", "endpoint", "record", "artifacts"] as const).find((x) => x === r) ?? "unknown";
}

// ---- topology: which machines and endpoints sit behind which subnet / NSG

interface Attached {
  node: GraphNode;
  role: Role;
  subnetIds: string[];
  nsgIds: string[];
  ips: string[];
}

function nicsOf(g: ResourceGraph, vm: GraphNode): GraphNode[] {
  return arr<any>(vm.inputs.networkProfile?.networkInterfaces).map((r) => g.byId(r.id, T.nic)).filter((n): n is GraphNode => !!n);
}

function attached(g: ResourceGraph): Attached[] {
  const out: Attached[] = [];
  for (const vm of g.ofType(T.vm)) {
    const nics = nicsOf(g, vm);
    const configs = nics.flatMap((n) => arr<any>(n.inputs.ipConfigurations));
    out.push({ node: vm, role: taggedRole(vm), subnetIds: configs.map((c) => c.subnet?.id).filter(Boolean), nsgIds: nics.map((n) => n.inputs.networkSecurityGroup?.id).filter(Boolean), ips: configs.map((c) => c.privateIPAddress).filter(Boolean) });
  }
  for (const pe of g.ofType(T.pe))
    out.push({ node: pe, role: "endpoint", subnetIds: [pe.inputs.subnet?.id].filter(Boolean), nsgIds: [], ips: arr<any>(pe.inputs.ipConfigurations).map((c) => c.privateIPAddress).filter(Boolean) });
  return out;
}

// ---- routes and exposures (I1)

export function routes(g: ResourceGraph): RouteFact[] {
  const out: RouteFact[] = [];
  const fact = (node: GraphNode, r: any, table?: GraphNode) => {
    if (r.nextHopType === "None") return; // a blackhole drops traffic: not a path
    const dest = r.addressPrefix === "Internet" || r.nextHopType === "Internet" ? (String(r.addressPrefix).includes("/") ? r.addressPrefix : "0.0.0.0/0") : r.addressPrefix;
    out.push({ node, table, destination: dest, via: `${r.nextHopType}${r.nextHopIpAddress ? ` ${r.nextHopIpAddress}` : ""}` });
  };
  for (const t of g.ofType(T.routeTable)) for (const r of arr<any>(t.inputs.routes)) fact(t, r, t);
  for (const r of g.ofType(T.route)) fact(r, r.inputs, g.ofType(T.routeTable).find((t) => names(r.inputs.routeTableName, t) && same(t.inputs.resourceGroupName, r.inputs.resourceGroupName)));
  return out;
}

export function exposures(g: ResourceGraph): ExposureFact[] {
  const out: ExposureFact[] = [];
  const usedIps = new Set<string>();
  for (const vm of g.ofType(T.vm)) {
    for (const nic of nicsOf(g, vm))
      for (const c of arr<any>(nic.inputs.ipConfigurations))
        if (c.publicIPAddress) {
          usedIps.add(String(c.publicIPAddress.id));
          out.push({ node: vm, role: taggedRole(vm), detail: `NIC ${nic.name} has a public IP` });
        }
    for (const c of arr<any>(vm.inputs.networkProfile?.networkInterfaceConfigurations))
      for (const ip of arr<any>(c.ipConfigurations)) if (ip.publicIPAddressConfiguration) out.push({ node: vm, role: taggedRole(vm), detail: "a NIC configuration creates a public IP" });
  }
  for (const ip of g.ofType(T.publicIp)) if (!usedIps.has(String(ip.id))) out.push({ node: ip, role: "unknown", detail: "a public IP address" });
  return out;
}

function closes(rules: any[], direction: "Inbound" | "Outbound"): boolean {
  const field = direction === "Outbound" ? "destinationAddressPrefix" : "sourceAddressPrefix";
  const denied = new Set(rules.filter((r) => r.direction === direction && r.access === "Deny" && (r.protocol === "*" || r.protocol === undefined)).flatMap((r) => [r[field], ...arr(r[`${field}es`])]).filter(Boolean));
  return denied.has("*") || (denied.has("Internet") && denied.has("VirtualNetwork"));
}

function nsgRules(g: ResourceGraph, nsg: GraphNode): any[] {
  const standalone = g.ofType(T.securityRule).filter((r) => names(r.inputs.networkSecurityGroupName, nsg) && same(r.inputs.resourceGroupName, nsg.inputs.resourceGroupName));
  return [...arr<any>(nsg.inputs.securityRules), ...standalone.map((r) => ({ ...r.inputs, name: r.inputs.securityRuleName ?? r.name, node: r }))];
}

export function openDefaults(g: ResourceGraph): OpenDefaultFact[] {
  const out: OpenDefaultFact[] = [];
  for (const s of g.ofType(T.subnet)) {
    if (s.inputs.defaultOutboundAccess !== false) out.push({ node: s, concern: "routes", detail: "defaultOutboundAccess is not false: Azure gives the subnet's machines an implicit outbound path" });
    const rt = g.byId(s.inputs.routeTable?.id, T.routeTable);
    if (!rt) out.push({ node: s, concern: "routes", detail: "no route table: Azure's system route 0.0.0.0/0 -> Internet applies" });
    else {
      if (rt.inputs.disableBgpRoutePropagation !== true) out.push({ node: rt, concern: "routes", detail: "BGP route propagation is on: gateway routes may be injected" });
      const all = [...arr<any>(rt.inputs.routes), ...g.ofType(T.route).filter((r) => names(r.inputs.routeTableName, rt)).map((r) => r.inputs)];
      if (!all.some((r) => r.addressPrefix === "0.0.0.0/0")) out.push({ node: rt, concern: "routes", detail: "no 0.0.0.0/0 route overrides Azure's system default route to the Internet" });
    }
    const nsg = g.byId(s.inputs.networkSecurityGroup?.id, T.nsg);
    if (!nsg) {
      out.push({ node: s, concern: "egress", detail: "no NSG: Azure allows all outbound traffic" }, { node: s, concern: "ingress", detail: "no NSG: Azure allows all traffic from the VNet" });
      continue;
    }
    const rules = nsgRules(g, nsg);
    if (!closes(rules, "Outbound")) out.push({ node: nsg, concern: "egress", detail: "no closing deny of Internet and VirtualNetwork (or *) outbound: Azure's defaults allow both" });
    if (!closes(rules, "Inbound")) out.push({ node: nsg, concern: "ingress", detail: "no closing deny of VirtualNetwork (or *) inbound: Azure's default allows the whole VNet" });
  }
  return out;
}

// ---- firewall (I2, I3)

function recordAccounts(g: ResourceGraph): GraphNode[] {
  const tagged = g.ofType(T.account).filter((a) => taggedRole(a) === "record");
  const flowTargets = g.ofType(T.flowLog).map((f) => g.byId(f.inputs.storageId, T.account)).filter((a): a is GraphNode => !!a);
  return [...new Set([...tagged, ...flowTargets])];
}

function peersOf(g: ResourceGraph, prefix: string, things: Attached[]): Peer[] {
  if (prefix === "*" || prefix === "Internet" || prefix === "0.0.0.0/0") return [{ kind: "cidr", cidr: "0.0.0.0/0" }];
  if (prefix === "VirtualNetwork") return [{ kind: "unknown", ref: "the VirtualNetwork tag (the whole VNet and anything peered or routed)" }];
  if (!/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(prefix)) return [{ kind: "cidr", cidr: "0.0.0.0/0" }]; // another service tag: public ranges
  const ip = prefix.replace(/\/32$/, "");
  const holders = things.filter((t) => t.ips.includes(ip));
  if (holders.length) {
    return holders.map((h): Peer => {
      if (h.node.type !== T.pe) return { kind: "role", role: h.role };
      const target = arr<any>(h.node.inputs.privateLinkServiceConnections).map((c) => c.privateLinkServiceId)[0];
      const isRecord = recordAccounts(g).some((a) => same(a.id, target));
      // The record account also holds the artifacts and canary containers.
      return isRecord ? { kind: "service", serves: "record+artifacts", detail: `the record account's private endpoint (${ip})` } : { kind: "role", role: "endpoint" };
    });
  }
  const subnet = g.ofType(T.subnet).find((s) => s.inputs.addressPrefix === prefix);
  if (subnet) {
    const roles = [...new Set(things.filter((t) => t.subnetIds.includes(subnet.id!)).map((t) => t.role))];
    return roles.length ? roles.map((role) => ({ kind: "role", role }) as Peer) : [{ kind: "unknown", ref: `subnet ${subnet.name} (empty)` }];
  }
  return [{ kind: "cidr", cidr: prefix.includes("/") ? prefix : `${prefix}/32` }];
}

function portsOf(r: any): string {
  if (r.protocol === "*" || r.protocol === undefined) return "all";
  const ranges = [r.destinationPortRange, ...arr(r.destinationPortRanges)].filter(Boolean);
  return `${String(r.protocol).toLowerCase()}/${ranges.join(",") || "*"}`;
}

/** NSG allow rules as written, each on its NSG; whom they apply to comes from memberships(). */
export function groupRules(g: ResourceGraph): GroupRuleFact[] {
  const out: GroupRuleFact[] = [];
  const things = attached(g);
  for (const nsg of g.ofType(T.nsg)) {
    for (const r of nsgRules(g, nsg).filter((x) => x.access === "Allow")) {
      const direction = r.direction === "Outbound" ? "egress" : "ingress";
      const field = direction === "egress" ? "destinationAddressPrefix" : "sourceAddressPrefix";
      const prefixes = [r[field], ...arr<string>(r[`${field}es`])].filter(Boolean);
      for (const prefix of prefixes.length ? prefixes : ["*"]) for (const peer of peersOf(g, prefix, things)) out.push({ node: r.node ?? nsg, direction, group: nsg, peer, ports: portsOf(r) });
    }
  }
  return out;
}

/** The NSGs each VM and private endpoint is behind: its NIC's, and its subnet's. */
export function memberships(g: ResourceGraph): MembershipFact[] {
  const out: MembershipFact[] = [];
  for (const t of attached(g)) {
    for (const id of t.nsgIds) {
      const nsg = g.byId(id, T.nsg);
      if (nsg) out.push({ member: t.node, role: t.role, group: nsg, via: "NIC networkSecurityGroup" });
    }
    for (const sid of t.subnetIds) {
      const nsg = g.byId(g.byId(sid, T.subnet)?.inputs.networkSecurityGroup?.id, T.nsg);
      if (nsg && !t.nsgIds.includes(nsg.id!)) out.push({ member: t.node, role: t.role, group: nsg, via: "subnet networkSecurityGroup" });
    }
  }
  return out;
}

export function placements(g: ResourceGraph): PlacementFact[] {
  const out: PlacementFact[] = [];
  for (const t of attached(g))
    for (const sid of t.subnetIds) {
      const subnet = g.byId(sid, T.subnet);
      if (subnet) out.push({ member: t.node, role: t.role, subnet, routeTable: g.byId(subnet.inputs.routeTable?.id, T.routeTable) });
    }
  return out;
}

export function identityUses(g: ResourceGraph): IdentityUseFact[] {
  return g.ofType(T.vm).flatMap((vm) =>
    arr<string>(vm.inputs.identity?.userAssignedIdentities)
      .map((id) => g.byId(id, T.uai))
      .filter((u): u is GraphNode => !!u)
      .map((identity) => ({ member: vm, role: taggedRole(vm), identity, via: "identity.userAssignedIdentities" })),
  );
}

export function dns(g: ResourceGraph): DnsFact {
  const problems: string[] = [];
  const nodes: GraphNode[] = [];
  for (const vnet of g.ofType(T.vnet)) {
    const links = g.ofType(T.dnsLink).filter((l) => same(l.inputs.virtualNetwork?.id, vnet.id));
    nodes.push(...links);
    const rules = g.ofType(T.dnsRule).filter((r) => r.inputs.dnsSecurityRuleState !== "Disabled" && links.some((l) => same(l.inputs.dnsResolverPolicyName, r.inputs.dnsResolverPolicyName)));
    const domains = (r: GraphNode) => arr<any>(r.inputs.dnsResolverDomainLists).flatMap((ref) => arr<string>(g.byId(ref.id, T.dnsList)?.inputs.domains));
    const blocks = rules.filter((r) => r.inputs.action?.actionType === "Block" && domains(r).includes("."));
    const firstBlock = Math.min(...blocks.map((r) => Number(r.inputs.priority)));
    const wideAllows = rules.filter((r) => r.inputs.action?.actionType !== "Block" && Number(r.inputs.priority) < firstBlock && domains(r).some((d) => d === "." || /^[^.]+\.$/.test(d)));
    if (!links.length) problems.push(`VNet ${vnet.name} has no DNS security policy: Azure DNS resolves any internet name`);
    else if (!blocks.length) problems.push(`VNet ${vnet.name}: the DNS security policy does not block every other name`);
    else if (wideAllows.length) problems.push(`VNet ${vnet.name}: the DNS security policy allows a whole top-level domain or the root`);
    const custom = arr<string>(vnet.inputs.dhcpOptions?.dnsServers);
    if (custom.length) problems.push(`VNet ${vnet.name} uses custom DNS servers ${custom.join(", ")} (the policy does not see their queries)`);
  }
  return { restricted: problems.length === 0, detail: problems.join("; ") || "allowlist only", nodes };
}

// ---- identity (I4)

const WHOLE_SCOPE = /^\/subscriptions\/[^/]+(\/resourceGroups\/[^/]+)?\/?$/i;

export function policies(g: ResourceGraph): PolicyFact[] {
  const out: PolicyFact[] = [];
  const groups = new Set(g.ofType("azure-native:resources:ResourceGroup").map((n) => String(n.id).toLowerCase()));
  const workloadIdentities = g.ofType(T.vm).filter((vm) => taggedRole(vm) === "workload").flatMap((vm) => arr<string>(vm.inputs.identity?.userAssignedIdentities)).map((id) => g.byId(id, T.uai)).filter((u): u is GraphNode => !!u);
  const appendOnlyScopes = (scope: string) => g.ofType(T.container).some((c) => same(c.id, scope) && c.inputs.containerName === CONTAINERS.record);
  const endpointScope = (scope: string) => g.ofType("azure-native:cognitiveservices:Account").some((a) => same(a.id, scope));
  // Reading the artifacts container (the workload installs its guest guard from it): blob reads only.
  const artifactsRead = (scope: string, def: GraphNode) =>
    g.ofType(T.container).some((c) => same(c.id, scope) && c.inputs.containerName === CONTAINERS.artifacts) &&
    arr<any>(def.inputs.permissions).every((p) => arr(p.actions).length === 0 && arr<string>(p.dataActions).every((d) => d === "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"));
  for (const a of g.ofType(T.roleAssignment)) {
    const def = g.byId(a.inputs.roleDefinitionId, T.roleDefinition);
    const scope = String(a.inputs.scope ?? "");
    if (!def) {
      out.push({ node: a, kind: "identity", statements: [], opaque: `built-in role ${a.inputs.roleDefinitionId} on ${scope}` });
      continue;
    }
    // A group the sandbox owns is a resource in its own right (the reaper deletes it); the
    // subscription, or a group the sandbox did not create, is "everything".
    const whole = WHOLE_SCOPE.test(scope) && !groups.has(scope.toLowerCase().replace(/\/$/, ""));
    const statements = arr<any>(def.inputs.permissions).map((p) => ({
      effect: "Allow" as const,
      actions: [...arr<string>(p.actions), ...arr<string>(p.dataActions)],
      negated: arr(p.notActions).length > 0 || arr(p.notDataActions).length > 0,
      resources: whole ? ["*"] : [scope],
      anyPrincipal: false,
      conditioned: !!a.inputs.condition,
    }));
    const controlPlane = arr<any>(def.inputs.permissions).some((p) => arr(p.actions).length > 0);
    const beyondOwn = workloadIdentities.some((u) => principalOf(a.inputs.principalId, u)) && (controlPlane || !(appendOnlyScopes(scope) || endpointScope(scope) || artifactsRead(scope, def)));
    out.push({ node: a, kind: "identity", statements, ...(beyondOwn ? { opaque: `a grant to the workload's identity beyond data-plane access to its record container, model endpoint and artifacts (read) (${scope})` } : {}) });
  }
  return out;
}

// ---- compute (I4, I7, I8)

function bootScript(vm: GraphNode): string {
  const data = vm.inputs.osProfile?.customData;
  if (typeof data !== "string") return "";
  try {
    return Buffer.from(data, "base64").toString("utf8");
  } catch {
    return "";
  }
}

function credentialsOf(vm: GraphNode): string | undefined {
  const os = vm.inputs.osProfile ?? {};
  const problems: string[] = [];
  if (os.adminPassword) problems.push("an admin password");
  if (os.linuxConfiguration?.disablePasswordAuthentication !== true) problems.push("password authentication on");
  const keys = arr<any>(os.linuxConfiguration?.ssh?.publicKeys).filter((k) => !String(k.keyData ?? "").trim().endsWith(` ${SEALED_KEY_COMMENT}`));
  if (keys.length) problems.push(`${keys.length} SSH key(s) someone holds`);
  if (os.allowExtensionOperations !== false) problems.push("extension operations allowed (Run Command is an inbound control channel)");
  return problems.length ? problems.join(", ") : undefined;
}

function teeOf(vm: GraphNode): ConfidentialKind {
  const sp = vm.inputs.securityProfile ?? {};
  const disk = vm.inputs.storageProfile?.osDisk?.managedDisk?.securityProfile?.securityEncryptionType;
  if (sp.securityType !== "ConfidentialVM" || sp.uefiSettings?.secureBootEnabled !== true || sp.uefiSettings?.vTpmEnabled !== true || !disk) return "none";
  return teeOfSize(vm.inputs.hardwareProfile?.vmSize);
}

export function compute(g: ResourceGraph): ComputeFact[] {
  const reapers = ttl(g);
  return g.ofType(T.vm).map((vm) => ({
    node: vm,
    role: taggedRole(vm),
    // Azure's IMDS has no per-VM setting: it needs the `Metadata: true` header and refuses requests
    // carrying X-Forwarded-For, which is what IMDSv2 + hop limit 1 buy on AWS.
    metadata: { hardened: true, detail: "Azure IMDS (header-gated, refuses proxied requests; not configurable)" },
    sshKey: credentialsOf(vm),
    tee: teeOf(vm),
    machineType: vm.inputs.hardwareProfile?.vmSize,
    shutdownDeletes: reapers.some((t) => t.ends.includes(vm.id!) && reapsOnStop(g, t.node, vm.id!)),
    runsAs: /^User=(\S+)$/m.exec(bootScript(vm))?.[1],
  }));
}

// ---- workflows: the ARM calls a Logic App makes, and as whom

interface ArmCall {
  method: string;
  uri: string;
}

function armCalls(def: any): ArmCall[] {
  const out: ArmCall[] = [];
  const walk = (actions: any) => {
    for (const a of Object.values<any>(actions ?? {})) {
      if (a?.type === "Http" && a.inputs?.authentication?.type === "ManagedServiceIdentity") out.push({ method: String(a.inputs.method).toUpperCase(), uri: String(a.inputs.uri).replace(/^https:\/\/management\.azure\.com/, "").split("?")[0] });
      walk(a?.actions);
      walk(a?.else?.actions);
    }
  };
  walk(def?.actions);
  return out;
}

/** Actions the workflow's identity may perform on `resourceId` (through assignments at or above it). */
function allowedActions(g: ResourceGraph, workflow: GraphNode, resourceId: string): Set<string> {
  const identities = arr<string>(workflow.inputs.identity?.userAssignedIdentities).map((id) => g.byId(id, T.uai)).filter((u): u is GraphNode => !!u);
  const out = new Set<string>();
  for (const a of g.ofType(T.roleAssignment).filter((x) => identities.some((u) => principalOf(x.inputs.principalId, u)) && scopeCovers(g, x.inputs.scope, resourceId)))
    for (const p of arr<any>(g.byId(a.inputs.roleDefinitionId, T.roleDefinition)?.inputs.permissions)) for (const action of arr<string>(p.actions)) out.add(action);
  return out;
}

function reapsOnStop(g: ResourceGraph, workflow: GraphNode, vmId: string): boolean {
  const def = workflow.inputs.definition;
  const reads = armCalls(def).some((c) => c.method === "GET" && same(c.uri, `${vmId}/instanceView`));
  return reads && JSON.stringify(def).includes(STOPPED) && allowedActions(g, workflow, vmId).has("Microsoft.Compute/virtualMachines/instanceView/read");
}

// ---- record and artifacts stores (I5)

/**
 * A container's lock: a time-based immutability policy on it (its days), compliance only where an
 * enabled workflow (the sealer, record.ts) POSTs the policy's lock and may do so — Azure's SDK cannot
 * create a policy locked, and an unlocked one can be shortened or deleted (governance).
 */
function containerLock(g: ResourceGraph, acct: GraphNode, c: GraphNode): RecordFact["lock"] {
  const policy = g.ofType(T.worm).find((p) => names(p.inputs.accountName, acct) && names(p.inputs.containerName, c));
  if (!policy) return undefined;
  const sealers = g.ofType(T.workflow).filter((w) => w.inputs.state !== "Disabled");
  const locked = sealers.some((w) =>
    armCalls(w.inputs.definition).some((call) => {
      const container = /^(.*)\/immutabilityPolicies\/default\/lock$/i.exec(call.uri)?.[1];
      return call.method === "POST" && !!container && armPathOf(g, container, c, false) && allowedActions(g, w, `${container}/immutabilityPolicies/default`).has("Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/lock/action");
    }),
  );
  return { mode: locked ? "compliance" : "governance", days: Number(policy.inputs.immutabilityPeriodSinceCreationInDays ?? 0) };
}

/** What the artifacts-side containers hold: the gate's and the guard's installed files, and the canary blobs. */
const ARTIFACT_CONTAINERS: readonly { name: string; holds: string }[] = [
  { name: CONTAINERS.artifacts, holds: "installed files" },
  { name: CONTAINERS.canaries, holds: "canaries" },
];

/** The record account's artifacts and canaries containers, each with its own immutability lock. */
export function artifactStores(g: ResourceGraph): ArtifactStoreFact[] {
  return g.ofType(T.account).flatMap((acct) =>
    g
      .ofType(T.container)
      .filter((c) => names(c.inputs.accountName, acct))
      .flatMap((c) => ARTIFACT_CONTAINERS.filter((a) => a.name === c.inputs.containerName).map((a) => ({ node: c, holds: a.holds, lock: containerLock(g, acct, c) }))),
  );
}

export function recordStores(g: ResourceGraph): RecordFact[] {
  return recordAccounts(g).map((acct) => {
    const containers = g.ofType(T.container).filter((c) => names(c.inputs.accountName, acct));
    // The containers that must be WORM: those machines append to, and the flow-log container.
    const writes = (a: GraphNode) => arr<any>(g.byId(a.inputs.roleDefinitionId, T.roleDefinition)?.inputs.permissions).some((p) => arr<string>(p.dataActions).some((d) => /\/blobs\/(write|add\/action)$/.test(d)));
    const appended = containers.filter((c) => g.ofType(T.roleAssignment).some((a) => (same(a.inputs.scope, c.id) || same(a.inputs.scope, acct.id)) && writes(a)) || c.inputs.containerName === CONTAINERS.record);
    const flowTarget = g.ofType(T.flowLog).some((f) => same(f.inputs.storageId, acct.id));
    const flowContainer = containers.filter((c) => c.inputs.containerName === CONTAINERS.flowLogs);
    const needed = [...new Set([...appended, ...(flowTarget ? flowContainer : [])])];
    const locks = needed.map((c) => containerLock(g, acct, c));
    const lock = needed.length && locks.every(Boolean) ? { mode: locks.some((l) => l!.mode === "governance") ? ("governance" as const) : ("compliance" as const), days: Math.min(...locks.map((l) => l!.days)) } : undefined;
    const versioned = g.ofType(T.blobService).some((s) => names(s.inputs.accountName, acct) && s.inputs.isVersioningEnabled === true);
    const publicAccessBlocked = acct.inputs.allowBlobPublicAccess === false && containers.every((c) => c.inputs.publicAccess === undefined || c.inputs.publicAccess === "None");
    const privateEndpoint = g.ofType(T.pe).some((pe) => arr<any>(pe.inputs.privateLinkServiceConnections).some((c) => same(c.privateLinkServiceId, acct.id)));
    const writesOnlyFromBoundary =
      acct.inputs.publicNetworkAccess === "Disabled" && acct.inputs.allowSharedKeyAccess === false && acct.inputs.networkRuleSet?.defaultAction === "Deny" && acct.inputs.minimumTlsVersion === "TLS1_2" && privateEndpoint;
    return { node: acct, lock, versioned, publicAccessBlocked, writesOnlyFromBoundary };
  });
}

export function flowLogs(g: ResourceGraph): FlowLogFact[] {
  const records = recordAccounts(g).map((a) => a.id);
  return g.ofType(T.flowLog).map((f) => ({ node: f, allTraffic: f.inputs.enabled === true && !f.inputs.enabledFilteringCriteria, toRecord: records.some((id) => same(id, f.inputs.storageId)), covers: [f.inputs.targetResourceId].filter(Boolean) }));
}

// ---- canaries and alarms (I6)

export function canaries(g: ResourceGraph): CanaryFact[] {
  const out: CanaryFact[] = [];
  for (const vm of g.ofType(T.vm).filter((v) => taggedRole(v) === "workload")) {
    const script = bootScript(vm);
    for (const m of script.matchAll(/^cat > '(?:\/home\/[^/']+|\/root)\/([^']+)' <</gm)) out.push({ kind: "file", path: m[1], node: vm });
    for (const m of script.matchAll(/AccountName=([a-z0-9]+);AccountKey=/g)) {
      const acct = g.ofType(T.account).find((a) => nameOf(a) === m[1]);
      // A key credential grants nothing only where shared-key access is off.
      out.push({ kind: "credential", path: m[1], node: vm, grants: acct && acct.inputs.allowSharedKeyAccess === false ? [] : acct ? [acct] : [] });
    }
  }
  for (const b of g.ofType(T.blob).filter((x) => x.inputs.containerName === CONTAINERS.canaries)) out.push({ kind: "object", path: String(b.inputs.blobName), node: b });
  return out;
}

export function alarms(g: ResourceGraph): AlarmFact[] {
  const canaryAccounts = new Set(g.ofType(T.blob).filter((b) => b.inputs.containerName === CONTAINERS.canaries).map((b) => String(b.inputs.accountName)));
  const workloadIds = g.ofType(T.vm).filter((v) => taggedRole(v) === "workload").map((v) => v.id!);
  const loggedTo = (workspaceId: string, account: GraphNode) =>
    g.ofType(T.diagnostic).some((d) => same(d.inputs.resourceUri, `${account.id}/blobServices/default`) && same(d.inputs.workspaceId, workspaceId) && arr<any>(d.inputs.logs).some((l) => l.category === "StorageRead" && l.enabled === true));
  return g.ofType(T.queryRule).filter((r) => r.inputs.enabled !== false).map((rule) => {
    const query = String(arr<any>(rule.inputs.criteria?.allOf)[0]?.query ?? "");
    const account = /AccountName == "([a-z0-9]+)"/.exec(query)?.[1];
    const acct = account ? g.ofType(T.account).find((a) => nameOf(a) === account) : undefined;
    const logged = !!acct && arr<string>(rule.inputs.scopes).some((w) => loggedTo(w, acct));
    const watches: ("object" | "credential")[] = [];
    if (logged && query.startsWith("StorageBlobLogs") && query.includes(`Uri has "/${CONTAINERS.canaries}/"`) && canaryAccounts.has(account!)) watches.push("object");
    if (logged && query.startsWith("StorageBlobLogs") && query.includes(`AuthenticationType == "AccountKey"`)) watches.push("credential");
    const groups = arr<string>(rule.inputs.actions?.actionGroups).map((id) => g.byId(id, T.actionGroup)).filter((x): x is GraphNode => !!x && x.inputs.enabled === true);
    const kills = groups.some((ag) =>
      arr<any>(ag.inputs.logicAppReceivers).some((r) => {
        const wf = g.byId(r.resourceId, T.workflow);
        if (!wf || wf.inputs.state === "Disabled") return false;
        return armCalls(wf.inputs.definition).some((c) => {
          const m = /^(.*)\/(deallocate|powerOff)$/.exec(c.uri);
          return c.method === "POST" && !!m && workloadIds.some((id) => same(id, m[1])) && allowedActions(g, wf, m[1]).has(`Microsoft.Compute/virtualMachines/${m[2]}/action`);
        });
      }),
    );
    return { node: rule, watches, notifies: groups.length > 0, kills };
  });
}

// ---- TTL (I7)

export function ttl(g: ResourceGraph): TtlFact[] {
  const out: TtlFact[] = [];
  for (const w of g.ofType(T.workflow).filter((x) => x.inputs.state !== "Disabled")) {
    const def = w.inputs.definition ?? {};
    if (!Object.values<any>(def.triggers ?? {}).some((t) => t?.type === "Recurrence")) continue;
    for (const call of armCalls(def).filter((c) => c.method === "DELETE" && /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+$/i.test(c.uri))) {
      if (!allowedActions(g, w, call.uri).has("Microsoft.Resources/subscriptions/resourceGroups/delete")) continue;
      const at = Date.parse(String(def.parameters?.expiresAt?.defaultValue));
      out.push({ node: w, at: Number.isNaN(at) ? undefined : new Date(at), ends: g.ofType(T.vm).filter((vm) => under(vm.id, call.uri)).map((vm) => vm.id!) });
    }
  }
  return out;
}

// ---- the workload's guard (I9)

export function guards(g: ResourceGraph): GuardFact[] {
  return g.ofType(T.vm)
    .filter((v) => taggedRole(v) === "workload")
    .flatMap((vm) => {
      const script = bootScript(vm);
      const stored = (key: string) => g.ofType(T.blob).some((b) => b.inputs.containerName === CONTAINERS.artifacts && b.inputs.blobName === key && script.includes(`/${CONTAINERS.artifacts}/${key}'`));
      return vmGuardFact(vm, script, stored) ?? [];
    });
}

// ---- the rest of the rule table (the descriptor reads this module's namespace: invariants/rule-table.ts)

export const networks = (g: ResourceGraph): GraphNode[] => g.ofType(T.vnet);
export const forbiddenTypes = FORBIDDEN;
export const declaredRole = taggedRole;
/** Azure RBAC scopes every action: none must be granted on every resource. */
export const resourceWildcardActions: ReadonlySet<string> = new Set();
export const isTaggable = isAzureTaggable;
export const labelFields = (): readonly string[] => ["tags"];
