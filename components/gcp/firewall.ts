// Who may talk to whom. GCP's implied rules *allow all egress* (priority 65535) and deny all ingress,
// so the network gets an explicit, logged deny-all in both directions at 65534 — above the implied
// rules, below every allow — and then narrow allows at 1000, keyed by service account (firewall rules
// apply per VM, by the service account the VM runs as):
//   workload -> gate listener ports (the gate's address only)
//   gate     <- workload on those ports; -> the restricted VIP on 443 (Google APIs), targets on their
//               ports, private addresses listed in the spec
//   targets  <- gate on their ports
// Nothing accepts a connection from outside the network; the workload accepts none at all; there is
// no rule between the workload and the targets, so the only path between them is through the gate.
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import type { GcpContext } from "./context";
import type { Network } from "./network";
import { GOOGLE_APIS_PORT, RESTRICTED_VIP_RANGE } from "./services";

export const DENY_ALL_PRIORITY = 65534;
export const ALLOW_PRIORITY = 1000;
export const ANYWHERE = "0.0.0.0/0";
/** Every rule is logged: denied flows are the kill switch's denied-egress signal. */
export const FIREWALL_LOG = { metadata: "INCLUDE_ALL_METADATA" } as const;

export interface FirewallPeers {
  workload: pulumi.Input<string>;
  gate: pulumi.Input<string>;
  targets: pulumi.Input<string>[];
}

export function buildFirewall(ctx: GcpContext, net: Network, sa: FirewallPeers): gcp.compute.Firewall[] {
  const rules: gcp.compute.Firewall[] = [];
  const rule = (part: string, args: Omit<gcp.compute.FirewallArgs, "network" | "logConfig">) =>
    rules.push(new gcp.compute.Firewall(ctx.name(`fw-${part}`), { name: ctx.quietName(`fw-${part}`.slice(0, 20), 62), network: net.network.id, logConfig: { ...FIREWALL_LOG }, ...args }, ctx.opts()));
  const tcp = (ports: number[]) => [{ protocol: "tcp", ports: [...new Set(ports)].sort((a, b) => a - b).map(String) }];

  rule("deny-egress", { direction: "EGRESS", priority: DENY_ALL_PRIORITY, denies: [{ protocol: "all" }], destinationRanges: [ANYWHERE], description: "default deny: every destination" });
  rule("deny-ingress", { direction: "INGRESS", priority: DENY_ALL_PRIORITY, denies: [{ protocol: "all" }], sourceRanges: [ANYWHERE], description: "default deny: every source" });

  const listenPorts = ctx.plan.listeners.map((l) => l.listenPort);
  rule("workload-to-gate", { direction: "EGRESS", priority: ALLOW_PRIORITY, allows: tcp(listenPorts), destinationRanges: [`${ctx.plan.gateIp}/32`], targetServiceAccounts: [sa.workload], description: "workload to the gate's listeners" });
  rule("gate-from-workload", { direction: "INGRESS", priority: ALLOW_PRIORITY, allows: tcp(listenPorts), sourceServiceAccounts: [sa.workload], targetServiceAccounts: [sa.gate], description: "the gate accepts the workload on its listeners" });
  rule("gate-to-google-apis", { direction: "EGRESS", priority: ALLOW_PRIORITY, allows: tcp([GOOGLE_APIS_PORT]), destinationRanges: [RESTRICTED_VIP_RANGE], targetServiceAccounts: [sa.gate], description: "Google APIs (restricted VIP)" });

  const viaTarget = ctx.plan.listeners.filter((l) => l.via === "target");
  if (viaTarget.length && sa.targets.length) {
    const addresses = [...new Set(viaTarget.map((l) => `${ctx.plan.targets.find((t) => t.name === l.target)!.privateIp}/32`))];
    const ports = viaTarget.map((l) => l.port);
    rule("gate-to-targets", { direction: "EGRESS", priority: ALLOW_PRIORITY, allows: tcp(ports), destinationRanges: addresses, targetServiceAccounts: [sa.gate], description: "targets on their ports" });
    rule("targets-from-gate", { direction: "INGRESS", priority: ALLOW_PRIORITY, allows: tcp(ports), sourceServiceAccounts: [sa.gate], targetServiceAccounts: sa.targets, description: "targets accept the gate only" });
  }
  for (const l of ctx.plan.listeners.filter((x) => x.via === "address")) {
    const literal = /^\d+\.\d+\.\d+\.\d+$/.test(l.host!);
    // A host name cannot be put in a firewall rule; only unsafe.allowInternet gets here with one.
    rule(`gate-to-${l.name}`, { direction: "EGRESS", priority: ALLOW_PRIORITY, allows: tcp([l.port]), destinationRanges: [literal ? `${l.host}/32` : ANYWHERE], targetServiceAccounts: [sa.gate], description: `upstream ${l.name}` });
  }
  return rules;
}
