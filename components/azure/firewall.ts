// Who may talk to whom: one NSG per subnet, rules inline (never mixed with network.SecurityRule
// resources — clouds.md §1 gotcha). Azure's default rules allow VirtualNetwork both ways and
// Internet outbound (65000/65001), so every NSG ends with explicit denies at the lowest custom
// priorities — Internet (4094), VirtualNetwork (4095) and everything (4096, because a route for
// 0.0.0.0/0 widens the VirtualNetwork tag — clouds.md §11) — in both directions. The allows name
// single addresses from the plan (NSG rule fields: network/networkSecurityGroup.d.ts,
// SecurityRuleArgs in types/input.d.ts):
//   workload  -> gate listener ports; -> the record's private endpoint on 443 (log shipping)
//   gate      <- workload on listener ports; -> record endpoint 443 (logs, artifacts), the model
//                endpoints 443, targets on their ports, private addresses listed in the spec
//   endpoints <- gate and workload (record) / gate (model endpoints) on 443
//   targets   <- gate on their ports
// Platform traffic (168.63.129.16 DNS/health, IMDS) is exempt from NSGs unless its service tags are
// denied; DNS is closed by the resolver policy instead (dns.ts).
import * as network from "@pulumi/azure-native/network";
import type * as types from "@pulumi/azure-native/types";
import type * as resources from "@pulumi/azure-native/resources";
import { AzureContext } from "./context";
import { IPV4_LITERAL } from "../cloud/layout";
import type { SubnetPart } from "./plan";
import { roleTag, AzureRole } from "./taggable";

export type Firewall = Record<SubnetPart, network.NetworkSecurityGroup>;

export const HTTPS = 443;
export const DENY_PRIORITIES = { internet: 4094, virtualNetwork: 4095, all: 4096 } as const;

type Rule = { name: string; priority: number; direction: "Inbound" | "Outbound"; access: "Allow" | "Deny"; protocol: "Tcp" | "*"; source: string; destination: string; ports: string[] };

function toArgs(r: Rule): types.input.network.SecurityRuleArgs {
  return {
    name: r.name,
    priority: r.priority,
    direction: r.direction,
    access: r.access,
    protocol: r.protocol,
    sourceAddressPrefix: r.source,
    sourcePortRange: "*",
    destinationAddressPrefix: r.destination,
    ...(r.ports.length === 1 ? { destinationPortRange: r.ports[0] } : { destinationPortRanges: r.ports }),
  };
}

/** The closing denies every NSG ends with, both directions. */
export function closingDenies(): Rule[] {
  const out: Rule[] = [];
  for (const direction of ["Inbound", "Outbound"] as const) {
    const d = direction === "Inbound" ? "in" : "out";
    const deny = (name: string, priority: number, prefix: string): Rule =>
      ({ name: `deny-${name}-${d}`, priority, direction, access: "Deny", protocol: "*", source: direction === "Inbound" ? prefix : "*", destination: direction === "Outbound" ? prefix : "*", ports: ["*"] });
    out.push(deny("internet", DENY_PRIORITIES.internet, "Internet"), deny("vnet", DENY_PRIORITIES.virtualNetwork, "VirtualNetwork"), deny("all", DENY_PRIORITIES.all, "*"));
  }
  return out;
}

const host = (ip: string) => `${ip}/32`;

/** The allow rules of each subnet's NSG, from the plan. */
export function allowRules(ctx: AzureContext): Record<SubnetPart, Rule[]> {
  const { plan } = ctx;
  const tcp = (name: string, priority: number, direction: Rule["direction"], source: string, destination: string, ports: (number | string)[]): Rule =>
    ({ name, priority, direction, access: "Allow", protocol: "Tcp", source, destination, ports: [...new Set(ports.map(String))] });
  const listenPorts = plan.listeners.map((l) => l.listenPort);
  const workload: Rule[] = [tcp("record-out", 100, "Outbound", host(plan.workloadIp), host(plan.recordIp), [HTTPS])];
  const gate: Rule[] = [tcp("record-out", 100, "Outbound", host(plan.gateIp), host(plan.recordIp), [HTTPS])];
  const endpoints: Rule[] = [
    tcp("record-from-workload-in", 100, "Inbound", host(plan.workloadIp), host(plan.recordIp), [HTTPS]),
    tcp("record-from-gate-in", 101, "Inbound", host(plan.gateIp), host(plan.recordIp), [HTTPS]),
  ];
  const targets: Rule[] = [];
  if (listenPorts.length) {
    workload.push(tcp("gate-out", 110, "Outbound", host(plan.workloadIp), host(plan.gateIp), listenPorts));
    gate.push(tcp("workload-in", 110, "Inbound", host(plan.workloadIp), host(plan.gateIp), listenPorts));
  }
  plan.endpoints.forEach((ep, i) => {
    gate.push(tcp(`${ep.service}-out`, 120 + i, "Outbound", host(plan.gateIp), host(ep.privateIp), [HTTPS]));
    endpoints.push(tcp(`${ep.service}-from-gate-in`, 120 + i, "Inbound", host(plan.gateIp), host(ep.privateIp), [HTTPS]));
  });
  plan.targets.forEach((t, i) => {
    const ports = plan.listeners.filter((l) => l.via === "target" && l.target === t.name).map((l) => l.port);
    if (!ports.length) return;
    gate.push(tcp(`${t.name}-out`, 200 + i, "Outbound", host(plan.gateIp), host(t.privateIp), ports));
    targets.push(tcp(`${t.name}-from-gate-in`, 200 + i, "Inbound", host(plan.gateIp), host(t.privateIp), ports));
  });
  plan.listeners.filter((l) => l.via === "address").forEach((l, i) => {
    // A host name cannot go in an NSG; only unsafe.allowInternet gets here with one, and then the
    // gate (never the workload) may reach that port on the Internet.
    gate.push(tcp(`${l.name}-out`, 300 + i, "Outbound", host(plan.gateIp), IPV4_LITERAL.test(l.host!) ? host(l.host!) : "Internet", [l.port]));
  });
  return { workload, gate, endpoints, targets };
}

const NSG_ROLE: Record<SubnetPart, AzureRole> = { workload: "workload", gate: "gate", endpoints: "endpoint", targets: "target" };

export function createFirewall(ctx: AzureContext, group: resources.ResourceGroup): Firewall {
  const allows = allowRules(ctx);
  const fw = {} as Firewall;
  for (const part of Object.keys(allows) as SubnetPart[]) {
    fw[part] = new network.NetworkSecurityGroup(
      ctx.name(`${part}-nsg`),
      { resourceGroupName: group.name, networkSecurityGroupName: ctx.quietName(`${part}-nsg`), securityRules: [...allows[part], ...closingDenies()].map(toArgs), tags: roleTag(NSG_ROLE[part]) },
      ctx.opts(),
    );
  }
  return fw;
}
