// Small helpers shared by the checks.
import type { UnsafeFlag } from "../../spec/schema";
import { describeNode, GraphNode } from "../graph";
import type { Finding, Role } from "../types";

export function finding(node: GraphNode | string, message: string, waivableBy?: UnsafeFlag): Finding {
  return { resource: typeof node === "string" ? node : describeNode(node), message, ...(waivableBy ? { waivableBy } : {}) };
}

/** The unsafe flag that allows a public address on a resource of this role. */
export function publicAddressWaiver(role: Role): UnsafeFlag | undefined {
  if (role === "gate") return "allowInternet"; // the gate's route to listed public upstreams
  if (role === "workload" || role === "unknown") return "allowPublicIp";
  return undefined; // targets, endpoints, stores never get one
}
