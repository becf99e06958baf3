// The Kubernetes backend's entry: reads the stack's cluster profile (airlock:kubernetes, cluster.ts),
// validates it against the spec before anything is registered, and builds the fleet (one sandbox
// unless fleet.count > 1). Parts: render.ts (pure objects) · network.ts (namespace, quota, limits) ·
// firewall.ts (NetworkPolicies) · identity.ts (service accounts, the guard's Role) · gate.ts ·
// workload.ts · targets.ts · canaries.ts · killswitch.ts (guard) · ttl.ts · record.ts ·
// runtime.ts (RuntimeClass, TEE placement) · component.ts (Pulumi) · api.ts (REST client) ·
// sweep.ts (expired namespaces).
import * as pulumi from "@pulumi/pulumi";
import type { SandboxComponentArgs } from "../sandbox-base";
import { CLUSTER_CONFIG_KEY, parseClusterProfile } from "./cluster";
import { KubernetesFleet } from "./component";

export { KubernetesSandbox, KubernetesFleet, KUBERNETES_SANDBOX_TYPE, KUBERNETES_FLEET_TYPE } from "./component";

export function buildKubernetes(name: string, args: SandboxComponentArgs, opts?: pulumi.ComponentResourceOptions): KubernetesFleet {
  const [ns, key] = CLUSTER_CONFIG_KEY.split(":");
  const profile = parseClusterProfile(new pulumi.Config(ns).getObject(key), args.spec, `stack '${pulumi.getStack()}' config ${CLUSTER_CONFIG_KEY}`);
  return new KubernetesFleet(name, { ...args, profile }, opts);
}
