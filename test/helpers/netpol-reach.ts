// An independent NetworkPolicy analyzer: what a set of policies allows, computed from the policies
// alone with Kubernetes' semantics (networking.k8s.io/v1), never from the code that wrote them. The
// API server here enforces nothing (no CNI), so reachability is proved by computation:
//   - a pod is isolated for egress (ingress) when a policy of its namespace with that policyType
//     selects it; an isolated pod may send (receive) only what some rule of those policies allows;
//   - a connection needs both: the source's egress and, for a pod destination, its ingress;
//   - a peer with podSelector only matches pods of the policy's namespace; with namespaceSelector only,
//     every pod of the matching namespaces; with both, pods matching both; ipBlock matches addresses
//     in cidr and not in except (pod addresses too: some CNIs do, so the analysis assumes the worst);
//   - a rule with no `to`/`from` matches every peer; a rule with no `ports` matches every port.
export interface Sel {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

export interface PodEnd {
  kind: "pod";
  namespace: string;
  labels: Record<string, string>;
  ip: string;
}
export interface IpEnd {
  kind: "ip";
  ip: string;
}
export type End = PodEnd | IpEnd;

export interface World {
  policies: any[];
  /** Namespace name -> its labels (kubernetes.io/metadata.name is added automatically). */
  namespaces: Record<string, Record<string, string>>;
}

export function matches(sel: Sel | undefined, labels: Record<string, string>): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    if (e.operator === "In" && !(has && (e.values ?? []).includes(labels[e.key]))) return false;
    if (e.operator === "NotIn" && has && (e.values ?? []).includes(labels[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

function ipToInt(ip: string): number {
  return ip.split(".").reduce((n, p) => n * 256 + Number(p), 0);
}

export function ipInCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/");
  const prefix = Number(bits);
  if (prefix === 0) return true;
  const size = 2 ** (32 - prefix);
  const start = Math.floor(ipToInt(base) / size) * size;
  const n = ipToInt(ip);
  return n >= start && n < start + size;
}

function nsLabels(world: World, ns: string): Record<string, string> {
  return { ...(world.namespaces[ns] ?? {}), "kubernetes.io/metadata.name": ns };
}

function peerMatches(world: World, policyNs: string, peer: any, end: End): boolean {
  if (peer.ipBlock) return ipInCidr(end.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((x: string) => ipInCidr(end.ip, x));
  if (end.kind !== "pod") return false; // selectors match pods only
  const nsOk = peer.namespaceSelector ? matches(peer.namespaceSelector, nsLabels(world, end.namespace)) : end.namespace === policyNs;
  const podOk = peer.podSelector ? matches(peer.podSelector, end.labels) : true;
  return nsOk && podOk;
}

function portMatches(ports: any[] | undefined, port: number, protocol: string): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => (p.protocol ?? "TCP") === protocol && (p.port === undefined || (p.endPort !== undefined ? port >= p.port && port <= p.endPort : p.port === port)));
}

function types(p: any): string[] {
  if (p.spec.policyTypes) return p.spec.policyTypes;
  return p.spec.egress ? ["Ingress", "Egress"] : ["Ingress"];
}

function direction(world: World, pod: PodEnd, dir: "Egress" | "Ingress", other: End, port: number, protocol: string): boolean {
  const selecting = world.policies.filter((p) => (p.metadata.namespace ?? "default") === pod.namespace && types(p).includes(dir) && matches(p.spec.podSelector, pod.labels));
  if (selecting.length === 0) return true; // not isolated in this direction
  const field = dir === "Egress" ? "egress" : "ingress";
  const peers = dir === "Egress" ? "to" : "from";
  return selecting.some((p) =>
    (p.spec[field] ?? []).some((rule: any) => portMatches(rule.ports, port, protocol) && (!rule[peers] || rule[peers].length === 0 || rule[peers].some((peer: any) => peerMatches(world, p.metadata.namespace, peer, other)))),
  );
}

/** May `from` open a connection to `to` on port/protocol? */
export function allowed(world: World, from: End, to: End, port: number, protocol = "TCP"): boolean {
  if (from.kind === "pod" && !direction(world, from, "Egress", to, port, protocol)) return false;
  if (to.kind === "pod" && !direction(world, to, "Ingress", from, port, protocol)) return false;
  return true;
}

/** Addresses worth probing for a policy set: each ipBlock's edges and just outside them, plus fixed ones. */
export function probeAddresses(policies: any[], extra: string[] = []): string[] {
  const out = new Set<string>(["8.8.8.8", "1.1.1.1", "169.254.169.254", "169.254.170.2", "100.100.100.200", "10.0.0.1", "172.16.0.1", "192.168.0.1", ...extra]);
  const toIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
  const walk = (v: any) => {
    if (!v || typeof v !== "object") return;
    if (typeof v.cidr === "string") {
      for (const c of [v.cidr, ...(v.except ?? [])]) {
        const [base, bits] = c.split("/");
        const size = 2 ** (32 - Number(bits));
        const start = Math.floor(ipToInt(base) / size) * size;
        for (const n of [start - 1, start, start + size - 1, start + size]) if (n >= 0 && n < 2 ** 32) out.add(toIp(n));
      }
    }
    for (const x of Object.values(v)) walk(x);
  };
  walk(policies);
  return [...out];
}
