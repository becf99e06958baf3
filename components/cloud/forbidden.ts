// The resources no sandbox may hold, by kind, written once for every backend: what each kind breaks
// (I1 internet path, I4 credentials handed to machines), why, and the unsafe flag that may allow it.
// Each backend's facts.ts only lists its own type tokens under these kinds, so the same concept is
// refused for the same reason, with the same waiver, in every cloud. A leaf module: no backend imports.
import type { ForbiddenType } from "../invariants/types";

export const FORBIDDEN_KINDS = {
  internetGateway: { concern: "internet-path", why: "an internet gateway (or its attachment, or an egress-only one): a route to the internet", waivableBy: "allowInternet" },
  nat: { concern: "internet-path", why: "NAT (a NAT gateway, Cloud Router / Cloud NAT, a load balancer's outbound rules): outbound internet", waivableBy: "allowInternet" },
  publicAddress: { concern: "internet-path", why: "a public address (elastic IP, public IP prefix, Ingress): a way in from outside", waivableBy: "allowPublicIp" },
  publicEntry: { concern: "internet-path", why: "a public way in (Bastion) that no flag may open" },
  otherNetwork: { concern: "internet-path", why: "a path to another network (peering, VPN, interconnect, transit or carrier gateway)" },
  sshKey: { concern: "credential-injection", why: "an SSH key for machines (no inbound access is ever needed)" },
  pushedIn: { concern: "credential-injection", why: "keys or code pushed into machines from outside (project-wide metadata, a VM extension)" },
  grantBypass: { concern: "credential-injection", why: "a grant around the sandbox's own access rules (bucket ACLs, a ClusterRoleBinding)" },
} as const satisfies Record<string, ForbiddenType>;

export type ForbiddenKind = keyof typeof FORBIDDEN_KINDS;

/** type token -> why it is refused, from a backend's tokens per kind. */
export function forbiddenByKind(byKind: Partial<Record<ForbiddenKind, readonly string[]>>): Readonly<Record<string, ForbiddenType>> {
  const out: Record<string, ForbiddenType> = {};
  for (const [kind, types] of Object.entries(byKind) as [ForbiddenKind, readonly string[]][]) for (const t of types) out[t] = FORBIDDEN_KINDS[kind];
  return Object.freeze(out);
}
