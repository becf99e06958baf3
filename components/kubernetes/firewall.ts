// The sandbox's NetworkPolicies: default deny for ingress and egress on every pod of the namespace,
// then exactly these allows —
//   workload -> gate, the listener ports only;
//   gate     -> each listed upstream: in-boundary targets by pod selector (this namespace only),
//               outside services by ipBlock, with `except` for the cluster's own ranges and the cloud
//               metadata addresses; cluster DNS only when an upstream is a name;
//   gate admin port <- the chaos runner's pods (its namespace AND its labels) only;
//   target   <- the gate, on the target's port only;
//   guard    -> the API server, and the record bucket's endpoint on 443 (to ship the record).
// Peers without a namespaceSelector match only pods of this namespace: nothing from another
// namespace gets in. (Enforced by the cluster's CNI; docs/kubernetes.md says which CNIs do.)
import { GATE_ADMIN_PORT, ROLE_LABEL, TARGET_LABEL, meta, type RenderContext } from "./context";
import type { Manifest } from "./manifest";
import { METADATA_CIDRS } from "./cluster";
import { gateNeedsDns, upstreams } from "./gate";
import { guardEnabled } from "./killswitch";
import { inRange, parseCidr, intToIpv4, ipv4ToInt } from "../spec/net";

const NS_NAME_LABEL = "kubernetes.io/metadata.name";
const role = (r: string, extra: Record<string, string> = {}) => ({ podSelector: { matchLabels: { [ROLE_LABEL]: r, ...extra } } });
const tcp = (port: number) => ({ protocol: "TCP", port });

/** Does CIDR `inner` lie inside `outer`? */
export function cidrWithin(inner: string, outer: string): boolean {
  const i = parseCidr(inner)!;
  const o = parseCidr(outer)!;
  return i.prefix >= o.prefix && inRange(i.address, o.address, o.prefix);
}

/** The ranges no gate ipBlock may cover: the cluster's pods and Services, and the metadata services. */
export function forbiddenRanges(ctx: RenderContext): string[] {
  return [ctx.profile.podCidr, ctx.profile.serviceCidr, ...METADATA_CIDRS];
}

/**
 * An ipBlock for an outside upstream. `except` lists the forbidden ranges that lie strictly inside
 * the block (the API server refuses an except outside its cidr). A block that lies *inside* a
 * forbidden range is refused: an upstream inside the cluster is a target, not an outside service.
 */
export function ipBlockFor(ctx: RenderContext, cidr: string): { cidr: string; except?: string[] } {
  const c = parseCidr(cidr)!;
  const network = `${intToIpv4(((ipv4ToInt(c.address)! & (c.prefix ? (0xffffffff << (32 - c.prefix)) >>> 0 : 0)) >>> 0))}/${c.prefix}`;
  const inside = forbiddenRanges(ctx).find((f) => cidrWithin(network, f));
  if (inside) throw new Error(`upstream range ${cidr} lies inside the cluster's own range ${inside}; reach in-cluster services as targets (via: target), never by address`);
  const except = forbiddenRanges(ctx).filter((f) => cidrWithin(f, network) && f !== network);
  return except.length ? { cidr: network, except } : { cidr: network };
}

export function apiServerBlocks(ctx: RenderContext): string[] {
  if (ctx.profile.apiServerCidrs.length) return ctx.profile.apiServerCidrs;
  const c = parseCidr(ctx.profile.serviceCidr)!;
  return [`${intToIpv4(ipv4ToInt(c.address)! + 1)}/32`]; // the `kubernetes` Service
}

export function networkPolicies(ctx: RenderContext): Manifest[] {
  const np = (name: string, spec: object): Manifest => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: meta(ctx, name), spec });
  const ups = upstreams(ctx);
  const listenPorts = [...new Set(ups.map((u) => u.listenPort))].map(tcp);
  const out: Manifest[] = [np("default-deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] })];

  if (listenPorts.length) {
    out.push(np("workload-to-gate", { podSelector: role("workload").podSelector, policyTypes: ["Egress"], egress: [{ to: [role("gate")], ports: listenPorts }] }));
    out.push(np("gate-from-workload", { podSelector: role("gate").podSelector, policyTypes: ["Ingress"], ingress: [{ from: [role("workload")], ports: listenPorts }] }));
  }
  const runner = ctx.profile.chaosRunner;
  out.push(
    np("gate-admin-from-chaos-runner", {
      podSelector: role("gate").podSelector,
      policyTypes: ["Ingress"],
      // One peer with both selectors: pods with the runner's labels *in* the runner's namespace.
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { [NS_NAME_LABEL]: runner.namespace } }, podSelector: { matchLabels: { ...runner.podLabels } } }], ports: [tcp(GATE_ADMIN_PORT)] }],
    }),
  );
  const egress: object[] = ups.map((u) =>
    u.peer.kind === "target" ? { to: [role("target", { [TARGET_LABEL]: u.peer.target })], ports: [tcp(u.port)] } : { to: [{ ipBlock: ipBlockFor(ctx, u.peer.cidr) }], ports: [tcp(u.port)] },
  );
  if (gateNeedsDns(ctx)) {
    const dns = ctx.profile.dns;
    egress.push({
      to: [{ namespaceSelector: { matchLabels: { [NS_NAME_LABEL]: dns.namespace } }, podSelector: { matchLabels: { ...dns.podLabels } } }],
      ports: [{ protocol: "UDP", port: 53 }, tcp(53)],
    });
  }
  if (egress.length) out.push(np("gate-to-upstreams", { podSelector: role("gate").podSelector, policyTypes: ["Egress"], egress }));
  for (const t of ctx.spec.targets)
    out.push(np(`target-${t.name}-from-gate`, { podSelector: role("target", { [TARGET_LABEL]: t.name }).podSelector, policyTypes: ["Ingress"], ingress: [{ from: [role("gate")], ports: [tcp(t.port)] }] }));
  if (guardEnabled(ctx))
    out.push(np("guard-to-api-server", { podSelector: role("guard").podSelector, policyTypes: ["Egress"], egress: [{ to: apiServerBlocks(ctx).map((cidr) => ({ ipBlock: { cidr } })), ports: [tcp(443), tcp(6443)] }] }));
  if (guardEnabled(ctx) && ctx.profile.record)
    out.push(np("guard-to-record", { podSelector: role("guard").podSelector, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: ipBlockFor(ctx, ctx.profile.record.endpoint) }], ports: [tcp(443)] }] }));
  return out;
}
