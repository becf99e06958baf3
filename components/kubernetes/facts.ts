// The Kubernetes rule table: how the invariants' facts are read out of a @pulumi/kubernetes resource
// graph (the manifests render.ts produces, as registered; type tokens from manifest.ts KINDS). Every
// fact follows the objects' own references, as the cluster would:
//   NetworkPolicy podSelector / namespaceSelector / ipBlock  -> which pods a policy isolates and whom
//                                                               each rule lets them reach (I2, I3);
//   a pod no policy isolates for a direction                  -> Kubernetes' open default (I2, I3);
//   pod spec (privileged, host namespaces, hostPath, runtime, service-account token) -> breakouts;
//   pod serviceAccountName -> ServiceAccount; RoleBinding -> Role rules (I4);
//   workload volumeMounts -> the canary Secret; guard config + RoleBinding -> who kills what (I6);
//   activeDeadlineSeconds + the namespace's expiry label (I7); RuntimeClass / node selector (I8).
// Labels only *name* things: a pod's role comes from its name (workload, gate, guard, target-*), never
// from the labels the selectors match, so a workload labelled like the gate is the workload, in the
// gate's policies, and fails I2.
//
// What this graph cannot prove (said again in docs/kubernetes.md):
// - I5: the record bucket lives outside this stack (the cluster's cloud account creates it). The
//   facts read the bucket URL and the lock Airlock requires of it from the namespace's annotations
//   (record.ts); that the bucket really holds that lock, blocks public access and accepts writes only
//   from the sandbox is the bucket's, not provable here. Kubernetes has no flow log: the "flow log"
//   fact is the guard shipping the gate's connection log to that bucket, and counts as all traffic
//   only where the workload's every egress rule leads to the gate.
// - NetworkPolicies are enforced by the CNI; a cluster whose CNI ignores them (flannel) enforces none.
// - I6: what the guard can see of a canary's use (docs/kubernetes.md); the graph shows that the guard
//   watches canaries and is allowed to delete the workload pod.
import { forbiddenByKind } from "../cloud/forbidden";
import type { ConfidentialKind } from "../spec/schema";
import { parseExpiryLabel } from "../naming";
import { inRange, parseCidr } from "../spec/net";
import type { GraphNode, ResourceGraph } from "../invariants/graph";
import type {
  AlarmFact,
  ArtifactStoreFact,
  BreakoutFact,
  CanaryFact,
  ComputeFact,
  DnsFact,
  ExposureFact,
  FlowLogFact,
  GroupRuleFact,
  IdentityUseFact,
  MembershipFact,
  OpenDefaultFact,
  Peer,
  PlacementFact,
  PolicyFact,
  RecordFact,
  Role,
  RouteFact,
  TtlFact,
} from "../invariants/types";
import type { GuardFact } from "../invariants/types";
import { ROLE_LABEL } from "./context";
import { RECORD_ANNOTATION, RECORD_LOCK_ANNOTATION } from "./record";

const T = {
  ns: "kubernetes:core/v1:Namespace",
  pod: "kubernetes:core/v1:Pod",
  service: "kubernetes:core/v1:Service",
  secret: "kubernetes:core/v1:Secret",
  configMap: "kubernetes:core/v1:ConfigMap",
  sa: "kubernetes:core/v1:ServiceAccount",
  np: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  runtimeClass: "kubernetes:node.k8s.io/v1:RuntimeClass",
  role: "kubernetes:rbac.authorization.k8s.io/v1:Role",
  roleBinding: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
  clusterRole: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
  clusterRoleBinding: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
} as const;

const FORBIDDEN = forbiddenByKind({
  // An Ingress: a way in from outside the cluster. A ClusterRoleBinding: a grant beyond the sandbox's namespace.
  publicAddress: ["kubernetes:networking.k8s.io/v1:Ingress"],
  grantBypass: [T.clusterRoleBinding],
});

/** The label the API server puts on every namespace: its name. */
const NS_NAME_LABEL = "kubernetes.io/metadata.name";

const arr = <X>(v: X | X[] | undefined | null): X[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
/**
 * Per-graph memo for the facts the checks ask for many times (reach.ts asks for memberships once per
 * rule): a fleet of 100 sandboxes has ~2,000 objects, and recomputing selectors each time is
 * quadratic. A check runs synchronously, so the memo lives until the next microtask: a graph changed
 * later (a mutation test) is read afresh.
 */
const memos = new WeakMap<ResourceGraph, Map<string, unknown>>();
function memo<X>(g: ResourceGraph, key: string, fn: () => X): X {
  let m = memos.get(g);
  if (!m) {
    memos.set(g, (m = new Map()));
    queueMicrotask(() => memos.delete(g));
  }
  if (!m.has(key)) m.set(key, fn());
  return m.get(key) as X;
}

/** A value the SDK marked secret arrives wrapped in Pulumi's secret signature; the facts read the value. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const unsecret = (v: any): any => (v && typeof v === "object" && SECRET_SIG in v ? v.value : v);
const metaOf = (n: GraphNode): { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } => n.inputs.metadata ?? {};
const nameOf = (n: GraphNode) => String(metaOf(n).name ?? "");
const nsOf = (n: GraphNode) => String(metaOf(n).namespace ?? "");

/** What a pod is for, by its name (the component names pods by role); labels are never asked. */
function podRole(pod: GraphNode): Role {
  const name = nameOf(pod);
  if (name === "workload" || name === "gate" || name === "guard") return name;
  if (name.startsWith("target-")) return "target";
  return "unknown";
}

// ---- label selectors, as the API server evaluates them

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

function matches(sel: Selector | undefined, labels: Record<string, string>): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const ok = e.operator === "In" ? has && arr(e.values).includes(labels[e.key]) : e.operator === "NotIn" ? !has || !arr(e.values).includes(labels[e.key]) : e.operator === "Exists" ? has : e.operator === "DoesNotExist" ? !has : false;
    if (!ok) return false;
  }
  return true;
}

/** The same network, however it is spelt (an ipBlock is normalised to its network address). */
function sameCidr(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return !!x && !!y && x.prefix === y.prefix && inRange(x.address, y.address, y.prefix);
}

const isEmptySelector = (sel: Selector | undefined) => !!sel && Object.keys(sel.matchLabels ?? {}).length === 0 && arr(sel.matchExpressions).length === 0;

function podsIn(g: ResourceGraph, ns: string): GraphNode[] {
  const byNs = memo(g, "podsByNs", () => {
    const m = new Map<string, GraphNode[]>();
    for (const p of g.ofType(T.pod)) m.set(nsOf(p), [...(m.get(nsOf(p)) ?? []), p]);
    return m;
  });
  return byNs.get(ns) ?? [];
}

// ---- NetworkPolicies

interface Policy {
  node: GraphNode;
  ns: string;
  podSelector: Selector;
  types: Set<"Ingress" | "Egress">;
  ingress: any[];
  egress: any[];
}

function policiesOf(g: ResourceGraph): Policy[] {
  return memo(g, "policies", () => readPolicies(g));
}

function readPolicies(g: ResourceGraph): Policy[] {
  return g.ofType(T.np).map((node) => {
    const spec = node.inputs.spec ?? {};
    // policyTypes defaults to Ingress, plus Egress when the policy has an egress section.
    const types = new Set<"Ingress" | "Egress">(arr<any>(spec.policyTypes).length ? arr<any>(spec.policyTypes) : ["Ingress", ...(spec.egress ? (["Egress"] as const) : [])]);
    return { node, ns: nsOf(node), podSelector: spec.podSelector ?? {}, types, ingress: arr(spec.ingress), egress: arr(spec.egress) };
  });
}

function selectedPods(g: ResourceGraph, p: Policy): GraphNode[] {
  return podsIn(g, p.ns).filter((pod) => matches(p.podSelector, metaOf(pod).labels ?? {}));
}

function portsOf(rule: any): string {
  const ports = arr<any>(rule.ports);
  if (!ports.length) return "all";
  return ports.map((p) => `${String(p.protocol ?? "TCP").toLowerCase()}/${p.port ?? "*"}${p.endPort ? `-${p.endPort}` : ""}`).join(",");
}

/**
 * Whom one peer of a rule names. Pods of the policy's own namespace resolve to their roles; a named
 * namespace outside the sandboxes with Airlock's own pod labels is the platform (cluster DNS on port
 * 53, else Airlock's control plane: the chaos runner); anything wider (every namespace, another
 * sandbox's namespace, unlabelled pods elsewhere) is a peer no invariant allows.
 */
function peersOf(g: ResourceGraph, p: Policy, peer: any, ports: string, subjects: Role[]): Peer[] {
  if (peer.ipBlock) {
    const cidr = String(peer.ipBlock.cidr);
    // The guard's way to the record: the endpoint its configuration ships to, on 443 only.
    const recordEndpoint = guardConfig(g, p.ns)?.recordEndpoint;
    if (subjects.length > 0 && subjects.every((r) => r === "guard") && recordEndpoint && sameCidr(cidr, String(recordEndpoint)) && ports === "tcp/443")
      return [{ kind: "service", serves: "record", detail: `the record bucket's endpoint (${cidr})` }];
    // The guard's one way out: the API server's address, on the API ports.
    if (subjects.length > 0 && subjects.every((r) => r === "guard") && /\/32$/.test(cidr) && ports.split(",").every((x) => x === "tcp/443" || x === "tcp/6443"))
      return [{ kind: "service", serves: "control-plane", detail: `the API server (${cidr})` }];
    return [{ kind: "cidr", cidr }];
  }
  if (!peer.namespaceSelector) {
    const pods = podsIn(g, p.ns).filter((pod) => matches(peer.podSelector, metaOf(pod).labels ?? {}));
    return pods.length ? [...new Set(pods.map(podRole))].map((role) => ({ kind: "role", role }) as Peer) : [{ kind: "unknown", ref: `a pod selector matching no pod of ${p.ns}` }];
  }
  const nsSel: Selector = peer.namespaceSelector;
  if (isEmptySelector(nsSel)) return [{ kind: "unknown", ref: `pods of every namespace${peer.podSelector ? " (by pod labels)" : ""}` }];
  const named = nsSel.matchLabels?.[NS_NAME_LABEL];
  const oneNamespace = named !== undefined && Object.keys(nsSel.matchLabels ?? {}).length === 1 && arr(nsSel.matchExpressions).length === 0;
  if (!oneNamespace) return [{ kind: "unknown", ref: `pods of the namespaces labelled ${JSON.stringify(nsSel)}` }];
  if (named === p.ns) return peersOf(g, p, { podSelector: peer.podSelector ?? {} }, ports, subjects);
  if (memo(g, "nsNames", () => new Set(g.ofType(T.ns).map(nameOf))).has(named)) return [{ kind: "unknown", ref: `pods of another sandbox's namespace ${named}` }];
  const podLabels = peer.podSelector?.matchLabels ?? {};
  if (isEmptySelector(peer.podSelector ?? {})) return [{ kind: "unknown", ref: `every pod of namespace ${named}` }];
  if (ports.split(",").every((x) => /\/53$/.test(x))) return [{ kind: "service", serves: "dns", detail: `cluster DNS (${named} ${JSON.stringify(podLabels)})` }];
  if (podLabels[ROLE_LABEL]) return [{ kind: "service", serves: "control-plane", detail: `Airlock's ${podLabels[ROLE_LABEL]} (${named})` }];
  return [{ kind: "unknown", ref: `pods ${JSON.stringify(podLabels)} of namespace ${named}` }];
}

export function groupRules(g: ResourceGraph): GroupRuleFact[] {
  return memo(g, "groupRules", () => readGroupRules(g));
}

function readGroupRules(g: ResourceGraph): GroupRuleFact[] {
  const out: GroupRuleFact[] = [];
  for (const p of policiesOf(g)) {
    const subjects = [...new Set(selectedPods(g, p).map(podRole))];
    for (const [direction, rules, field] of [["egress", p.types.has("Egress") ? p.egress : [], "to"], ["ingress", p.types.has("Ingress") ? p.ingress : [], "from"]] as const) {
      for (const rule of rules) {
        const ports = portsOf(rule);
        const peers = arr<any>(rule[field]);
        // A rule with no peers allows every address.
        for (const peer of peers.length ? peers : [{ ipBlock: { cidr: "0.0.0.0/0" } }]) for (const resolved of peersOf(g, p, peer, ports, subjects)) out.push({ node: p.node, direction, group: p.node, peer: resolved, ports });
      }
    }
  }
  return out;
}

/**
 * Pods each policy with allow rules selects. A deny-only policy (the default deny) grants nothing, so
 * being selected by it is no shared group; it counts only for isolation (openDefaults).
 */
export function memberships(g: ResourceGraph): MembershipFact[] {
  return memo(g, "memberships", () => readMemberships(g));
}

function readMemberships(g: ResourceGraph): MembershipFact[] {
  const grants = (p: Policy) => (p.types.has("Egress") && p.egress.length > 0) || (p.types.has("Ingress") && p.ingress.length > 0);
  return policiesOf(g).filter(grants).flatMap((p) => selectedPods(g, p).map((pod) => ({ member: pod, role: podRole(pod), group: p.node, via: "podSelector" })));
}

export function declaredRole(policy: GraphNode): Role {
  const r = policy.inputs.spec?.podSelector?.matchLabels?.[ROLE_LABEL];
  return (["workload", "gate", "target", "guard"] as const).find((x) => x === r) ?? "unknown";
}

/** Kubernetes allows all traffic of a pod no policy isolates; a namespace without a default deny leaves every later pod open. */
export function openDefaults(g: ResourceGraph): OpenDefaultFact[] {
  const out: OpenDefaultFact[] = [];
  const policies = policiesOf(g);
  for (const ns of g.ofType(T.ns)) {
    const own = policies.filter((p) => p.ns === nameOf(ns));
    for (const [type, concern] of [["Egress", "egress"], ["Ingress", "ingress"]] as const) {
      const denyAll = own.some((p) => isEmptySelector(p.podSelector) && p.types.has(type) && (type === "Egress" ? p.egress : p.ingress).length === 0);
      if (!denyAll) out.push({ node: ns, concern, detail: `namespace ${nameOf(ns)} has no default-deny ${type} NetworkPolicy (podSelector {}): a pod no other policy selects is open` });
    }
  }
  for (const pod of g.ofType(T.pod))
    for (const [type, concern] of [["Egress", "egress"], ["Ingress", "ingress"]] as const)
      if (!policies.some((p) => p.ns === nsOf(pod) && p.types.has(type) && matches(p.podSelector, metaOf(pod).labels ?? {})))
        out.push({ node: pod, concern, detail: `no NetworkPolicy isolates pod ${nsOf(pod)}/${nameOf(pod)} for ${type}: Kubernetes allows all of it` });
  return out;
}

export function exposures(g: ResourceGraph): ExposureFact[] {
  const out: ExposureFact[] = [];
  for (const s of g.ofType(T.service)) {
    const spec = s.inputs.spec ?? {};
    const pods = podsIn(g, nsOf(s)).filter((p) => spec.selector && matches({ matchLabels: spec.selector }, metaOf(p).labels ?? {}));
    const role = pods.length ? podRole(pods[0]) : "unknown";
    if (spec.type === "LoadBalancer" || spec.type === "NodePort") out.push({ node: s, role, detail: `Service type ${spec.type} (reachable from outside the cluster)` });
    if (arr(spec.externalIPs).length) out.push({ node: s, role, detail: `Service externalIPs ${arr(spec.externalIPs).join(", ")}` });
  }
  for (const pod of g.ofType(T.pod))
    for (const c of containersOf(pod)) for (const port of arr<any>(c.ports)) if (port.hostPort) out.push({ node: pod, role: podRole(pod), detail: `container ${c.name} binds host port ${port.hostPort} on the node` });
  return out;
}

// ---- identity (I4)

function serviceAccountOf(g: ResourceGraph, pod: GraphNode): GraphNode | undefined {
  const name = pod.inputs.spec?.serviceAccountName ?? "default";
  return g.ofType(T.sa).find((sa) => nameOf(sa) === name && nsOf(sa) === nsOf(pod));
}

export function identityUses(g: ResourceGraph): IdentityUseFact[] {
  return g.ofType(T.pod).flatMap((pod) => {
    const sa = serviceAccountOf(g, pod);
    return sa ? [{ member: pod, role: podRole(pod), identity: sa, via: "serviceAccountName" }] : [];
  });
}

function ruleStatements(rules: any[]) {
  return arr<any>(rules).map((r) => {
    const groups = arr<string>(r.apiGroups).length ? arr<string>(r.apiGroups) : [""];
    const actions = groups.flatMap((grp) => arr<string>(r.resources).flatMap((res) => arr<string>(r.verbs).map((v) => `${grp || "core"}/${res}:${v}`)));
    const names = arr<string>(r.resourceNames);
    return { effect: "Allow" as const, actions, negated: false, resources: names.length ? arr<string>(r.resources).flatMap((res) => names.map((n) => `${res}/${n}`)) : ["*"], anyPrincipal: false, conditioned: false };
  });
}

export function policies(g: ResourceGraph): PolicyFact[] {
  const out: PolicyFact[] = [];
  for (const r of [...g.ofType(T.role), ...g.ofType(T.clusterRole)]) out.push({ node: r, kind: "identity", statements: ruleStatements(r.inputs.rules) });
  for (const b of g.ofType(T.roleBinding)) {
    const ref = b.inputs.roleRef ?? {};
    if (ref.kind === "ClusterRole" && !g.ofType(T.clusterRole).some((c) => nameOf(c) === ref.name)) out.push({ node: b, kind: "identity", statements: [], opaque: `ClusterRole ${ref.name} (not in this stack)` });
    else if (ref.kind === "Role" && !g.ofType(T.role).some((c) => nameOf(c) === ref.name && nsOf(c) === nsOf(b))) out.push({ node: b, kind: "identity", statements: [], opaque: `Role ${ref.name} (not in this stack)` });
  }
  return out;
}

// ---- compute (I1, I4, I7, I8)

function containersOf(pod: GraphNode): any[] {
  const spec = pod.inputs.spec ?? {};
  return [...arr<any>(spec.initContainers), ...arr<any>(spec.containers), ...arr<any>(spec.ephemeralContainers)];
}

/** Is a service-account token mounted into the pod? Pod setting first, else its ServiceAccount's, else Kubernetes' default: yes. */
function tokenMounted(g: ResourceGraph, pod: GraphNode): boolean {
  const own = pod.inputs.spec?.automountServiceAccountToken;
  if (own !== undefined) return own !== false;
  return serviceAccountOf(g, pod)?.inputs.automountServiceAccountToken !== false;
}

function breakoutsOf(g: ResourceGraph, pod: GraphNode): BreakoutFact[] {
  const spec = pod.inputs.spec ?? {};
  const out: BreakoutFact[] = [];
  // A host-network pod is on the node's network: NetworkPolicies do not select it, the node's routes
  // and the cloud metadata service are its own.
  if (spec.hostNetwork) out.push({ concern: "internet-path", detail: "hostNetwork: the pod uses the node's network, which no NetworkPolicy confines" });
  if (spec.hostPID) out.push({ concern: "privilege", detail: "hostPID: the node's processes are visible and signalable" });
  if (spec.hostIPC) out.push({ concern: "privilege", detail: "hostIPC: the node's IPC namespace is shared" });
  for (const v of arr<any>(spec.volumes)) if (v.hostPath) out.push({ concern: "privilege", detail: `volume ${v.name} mounts the node's ${v.hostPath.path}` });
  for (const c of containersOf(pod)) {
    const sc = c.securityContext ?? {};
    if (sc.privileged) out.push({ concern: "privilege", detail: `container ${c.name} is privileged (every device and capability of the node)` });
    if (sc.allowPrivilegeEscalation !== false) out.push({ concern: "privilege", detail: `container ${c.name} may escalate privileges (allowPrivilegeEscalation is not false)` });
    if (!arr<string>(sc.capabilities?.drop).includes("ALL")) out.push({ concern: "privilege", detail: `container ${c.name} does not drop all capabilities` });
    if (arr(sc.capabilities?.add).length) out.push({ concern: "privilege", detail: `container ${c.name} adds capabilities ${arr(sc.capabilities.add).join(", ")}` });
  }
  const runtime = spec.runtimeClassName;
  if (!runtime || runtime === "runc")
    out.push({ concern: "privilege", detail: `runs under ${runtime ? "runc" : "the node's default runtime (no runtimeClassName)"}: it shares the node's kernel, so one kernel exploit is a node breakout`, waivableBy: "sharedKernel" });
  if (podRole(pod) !== "guard" && tokenMounted(g, pod))
    out.push({ concern: "privilege", detail: `a service-account token is mounted (API access as ${spec.serviceAccountName ?? "default"}); set automountServiceAccountToken: false` });
  return out;
}

function runsAsOf(pod: GraphNode): string | undefined {
  const spec = pod.inputs.spec ?? {};
  const users = arr<any>(spec.containers).map((c) => c.securityContext?.runAsUser ?? spec.securityContext?.runAsUser);
  if (users.some((u) => u === 0)) return "root";
  if (users.length && users.every((u) => typeof u === "number")) return `uid ${[...new Set(users)].join(",")}`;
  return undefined;
}

/** The TEE a pod is placed on: a confidential RuntimeClass (kata-cc-snp / -tdx) or node pool label naming SEV-SNP or TDX. */
function teeOf(pod: GraphNode): ConfidentialKind {
  const spec = pod.inputs.spec ?? {};
  const hints = [String(spec.runtimeClassName ?? ""), ...Object.entries(spec.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`)].join(" ").toLowerCase();
  if (/snp|sev/.test(hints)) return "sev-snp";
  if (/tdx/.test(hints)) return "tdx";
  return "none";
}

export function compute(g: ResourceGraph): ComputeFact[] {
  return g.ofType(T.pod).map((pod) => ({
    node: pod,
    role: podRole(pod),
    // The metadata service is a network peer here: default-deny egress and the gate's `except`s keep
    // pods off it; only a host-network pod reaches it unfiltered.
    metadata: pod.inputs.spec?.hostNetwork ? { hardened: false, detail: "hostNetwork: the node's metadata service is reachable" } : { hardened: true, detail: "pod network: metadata addresses only through NetworkPolicy (denied)" },
    tee: teeOf(pod),
    // restartPolicy Never: a pod whose process ends is not started again.
    shutdownDeletes: pod.inputs.spec?.restartPolicy === "Never",
    runsAs: runsAsOf(pod),
    breakouts: breakoutsOf(g, pod),
  }));
}

// ---- record (I5)

function recordBucket(ns: GraphNode): string | undefined {
  const url = metaOf(ns).annotations?.[RECORD_ANNOTATION];
  return url && /^(s3|gs|azblob):\/\//.test(url) ? url : undefined;
}

export function recordStores(g: ResourceGraph): RecordFact[] {
  return g.ofType(T.ns).flatMap((ns) => {
    if (!recordBucket(ns)) return [];
    const m = /^(compliance|governance)\/(\d+)d$/.exec(metaOf(ns).annotations?.[RECORD_LOCK_ANNOTATION] ?? "");
    const lock = m ? { mode: m[1] as "compliance" | "governance", days: Number(m[2]) } : undefined;
    // Declared, not proven: the bucket is outside this graph (see the header). A locked bucket refuses
    // overwrites (S3 Object Lock needs versioning; GCS / Azure locks refuse them outright).
    return [{ node: ns, lock, versioned: !!lock, publicAccessBlocked: true, writesOnlyFromBoundary: true }];
  });
}

/** The guard's configuration (its ConfigMap's rules.json) in namespace `ns`; read once per graph. */
function guardConfig(g: ResourceGraph, ns: string): any {
  const byNs = memo(g, "guardConfigs", () => {
    const m = new Map<string, any>();
    for (const cm of g.ofType(T.configMap).filter((c) => nameOf(c) === "guard"))
      try {
        m.set(nsOf(cm), JSON.parse(String(cm.inputs.data?.["rules.json"] ?? "")));
      } catch {
        // Unreadable: the guard has no configuration, so nothing it would do counts.
      }
    return m;
  });
  return byNs.get(ns);
}

export function flowLogs(g: ResourceGraph): FlowLogFact[] {
  const rules = groupRules(g);
  const members = memberships(g);
  return g.ofType(T.ns).flatMap((ns) => {
    const bucket = recordBucket(ns);
    const guard = g.ofType(T.pod).find((p) => nsOf(p) === nameOf(ns) && podRole(p) === "guard");
    const config = guardConfig(g, nameOf(ns));
    if (!guard || !config || !bucket) return [];
    const egressOf = (role: Role) => {
      const groups = new Set(members.filter((m) => m.role === role && nsOf(m.member) === nameOf(ns)).map((m) => m.group.urn));
      return rules.filter((r) => r.direction === "egress" && groups.has(r.group.urn));
    };
    // The gate's log is all the workload's traffic only where every egress rule of the workload leads to the gate.
    const allTraffic = egressOf("workload").every((r) => r.peer.kind === "role" && r.peer.role === "gate");
    // It reaches the record only if the guard is told this namespace's bucket, may read the gate's
    // log (its Role), and may open a connection to the bucket's endpoint (its NetworkPolicies).
    const toBucket = !!config.record && bucket.startsWith(String(config.record).replace(/\/$/, ""));
    const reachesRecord = egressOf("guard").some((r) => r.peer.kind === "service" && r.peer.serves === "record");
    const readsGateLog = guardRoleRules(g, guard).some(
      (rule) => arr(rule.resources).includes("pods/log") && arr(rule.verbs).some((v) => v === "get" || v === "*") && (!arr(rule.resourceNames).length || arr(rule.resourceNames).includes(config.gateLogPod)),
    );
    return [{ node: guard, allTraffic, toRecord: toBucket && reachesRecord && readsGateLog, covers: [ns.id!] }];
  });
}

// ---- canaries and the kill switch (I6)

export function canaries(g: ResourceGraph): CanaryFact[] {
  const out: CanaryFact[] = [];
  for (const pod of g.ofType(T.pod).filter((p) => podRole(p) === "workload")) {
    const spec = pod.inputs.spec ?? {};
    for (const v of arr<any>(spec.volumes).filter((x) => x.secret)) {
      const secret = g.ofType(T.secret).find((s) => nsOf(s) === nsOf(pod) && nameOf(s) === v.secret.secretName);
      if (!secret || metaOf(secret).labels?.["airlock.dev/canary"] !== "true") continue;
      for (const c of arr<any>(spec.containers))
        for (const m of arr<any>(c.volumeMounts).filter((x) => x.name === v.name)) {
          const rel = /^(?:\/home\/[^/]+|\/root)\/(.+)$/.exec(String(m.mountPath))?.[1];
          if (!rel) continue;
          out.push({ kind: "file", path: rel, node: pod }, { kind: "object", path: rel, node: secret });
        }
      for (const text of Object.values<string>(unsecret(secret.inputs.stringData) ?? {}))
        for (const k of String(text).matchAll(/aws_access_key_id = (AKIA[A-Z0-9]+)/g)) if (!out.some((c) => c.kind === "credential" && c.path === k[1])) out.push({ kind: "credential", path: k[1], node: secret, grants: [] });
    }
  }
  return out;
}

/** The rules of every Role bound to the guard's ServiceAccount in its namespace (a token-less guard has none). */
function guardRoleRules(g: ResourceGraph, guard: GraphNode): any[] {
  const ns = nsOf(guard);
  const sa = serviceAccountOf(g, guard);
  if (!sa || !tokenMounted(g, guard)) return [];
  const bindings = g.ofType(T.roleBinding).filter((b) => nsOf(b) === ns && b.inputs.roleRef?.kind === "Role" && arr<any>(b.inputs.subjects).some((s) => s.kind === "ServiceAccount" && s.name === nameOf(sa) && (s.namespace ?? ns) === ns));
  return bindings.flatMap((b) => g.ofType(T.role).filter((r) => nsOf(r) === ns && nameOf(r) === b.inputs.roleRef?.name)).flatMap((r) => arr<any>(r.inputs.rules));
}

export function alarms(g: ResourceGraph): AlarmFact[] {
  return g.ofType(T.pod).filter((p) => podRole(p) === "guard").flatMap((guard) => {
    const ns = nsOf(guard);
    const config = guardConfig(g, ns);
    if (!config) return [];
    const watchesCanaries = arr<any>(config.rules).some((r) => r.on === "canary");
    // May the guard delete the workload pod? Its ServiceAccount -> RoleBinding -> Role rules.
    const sa = serviceAccountOf(g, guard);
    const deletes = guardRoleRules(g, guard).some(
      (rule) => arr(rule.resources).includes("pods") && arr(rule.verbs).some((v) => v === "delete" || v === "*") && (!arr(rule.resourceNames).length || arr(rule.resourceNames).includes(config.workloadPod)),
    );
    const kills = watchesCanaries && !config.canaryAlertOnly && !!sa && tokenMounted(g, guard) && deletes;
    return [{ node: guard, watches: watchesCanaries ? (["object", "credential"] as const).slice() : [], notifies: watchesCanaries && !!config.record, kills }];
  });
}

// ---- TTL (I7)

/** The namespace's expiry (the sweeper deletes it) and each pod's activeDeadlineSeconds (the kubelet ends it). */
export function ttl(g: ResourceGraph): TtlFact[] {
  return g.ofType(T.ns).map((ns) => {
    const limited = podsIn(g, nameOf(ns)).filter((p) => Number(p.inputs.spec?.activeDeadlineSeconds) > 0);
    return {
      node: ns,
      at: parseExpiryLabel(metaOf(ns).labels?.["airlock.dev/expires-at"]),
      ends: limited.map((p) => p.id!),
      // The deadline counts from the pod's start, not the sandbox's creation: one longer than the TTL
      // lets the kubelet keep the pod past the expiry (only the sweeper would then end it).
      runLimits: limited.map((p) => ({ node: p, seconds: Number(p.inputs.spec.activeDeadlineSeconds), via: "activeDeadlineSeconds" })),
    };
  });
}

// ---- the workload's guard (I9)

/** The guard pod of each namespace, with the rules its ConfigMap gives it (alert-only drops the canary kill). */
export function guards(g: ResourceGraph): GuardFact[] {
  return g.ofType(T.pod)
    .filter((p) => podRole(p) === "guard")
    .flatMap((pod) => {
      const config = guardConfig(g, nsOf(pod));
      if (!config) return [];
      const workloads = g.ofType(T.pod).filter((p) => podRole(p) === "workload" && nsOf(p) === nsOf(pod)).map((p) => p.id!);
      const rules = (Array.isArray(config.rules) ? config.rules : []).filter((r: any) => !(config.canaryAlertOnly && r?.on === "canary")).map((r: any) => ({ on: String(r?.on), ...(typeof r?.threshold === "number" ? { threshold: r.threshold } : {}) }));
      return [{ node: pod, where: "pod" as const, guards: workloads, rules, missing: [], artifacts: [] }];
    });
}

// ---- the rest of the rule table (the descriptor reads this module's namespace: invariants/rule-table.ts)

export const networks = (g: ResourceGraph): GraphNode[] => g.ofType(T.ns);
export const forbiddenTypes = FORBIDDEN;
/** Pods have no route tables; the pod network's way out is NetworkPolicy (groupRules). */
export const routes = (): RouteFact[] => [];
/** One pod network: no subnets to share (isolation is per pod, by policy). */
export const placements = (): PlacementFact[] => [];
/**
 * No artifacts store to lock (not applicable, like routes and placements): nothing is installed from
 * a bucket. The guard and the gate are images — the guard's pinned by digest (cluster.ts refuses a
 * tag), so what runs is fixed by content, not by a store someone could write — and the canaries are
 * an `immutable: true` Secret in the namespace, which the API server refuses to change and which
 * nothing in the sandbox may delete (no pod but the guard has a token; its Role names pods only).
 * Neither is a retention lock: someone with the cluster's own RBAC can still delete the Secret.
 */
export const artifactStores = (): ArtifactStoreFact[] => [];
export function dns(g: ResourceGraph): DnsFact {
  const workloads = g.ofType(T.pod).filter((p) => podRole(p) === "workload");
  const open = workloads.filter((p) => p.inputs.spec?.dnsPolicy !== "None");
  return { restricted: open.length === 0, detail: open.length ? `workload pod(s) ${open.map(nameOf).join(", ")} use cluster DNS, which resolves (and forwards) any name` : "the workload has no resolver (dnsPolicy None, names via hostAliases)", nodes: open };
}
/** Kubernetes RBAC names every resource a rule covers: none must be granted on every resource. */
export const resourceWildcardActions: ReadonlySet<string> = new Set();
/** RuntimeClasses are cluster-scoped and shared by every sandbox: deliberately unlabelled (runtime.ts). */
export const isTaggable = (type: string): boolean => type.startsWith("kubernetes:") && type !== T.runtimeClass;
export const labelFields = (): readonly string[] => ["metadata.labels"];
