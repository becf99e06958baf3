// KubernetesSandbox (airlock:kubernetes:Sandbox): registers one sandbox's rendered objects
// (render.ts, a pure function) as @pulumi/kubernetes resources — the namespace first, every other
// object after it, the pods after everything they mount or run as. KubernetesFleet
// (airlock:kubernetes:Fleet) is N of them from one spec (cluster.ts `fleet`), plus the shared
// RuntimeClasses when the stack says the cluster lacks them.
import * as pulumi from "@pulumi/pulumi";
import * as core from "@pulumi/kubernetes/core/v1";
import * as networking from "@pulumi/kubernetes/networking/v1";
import * as node from "@pulumi/kubernetes/node/v1";
import * as rbac from "@pulumi/kubernetes/rbac/v1";
import { Provider } from "@pulumi/kubernetes/provider";
import { SandboxComponentBase, type SandboxComponentArgs } from "../sandbox-base";
import type { ClusterProfile } from "./cluster";
import type { Manifest } from "./manifest";
import { memberIdentity, renderFleet, type RenderedSandbox } from "./render";
import { recordLocation } from "./record";
import { upstreams } from "./gate";
import { atKeptExpiry } from "./ttl";
import { KeptExpiry } from "../expiry";
import { expiryLabelValue } from "../naming";

export const KUBERNETES_SANDBOX_TYPE = "airlock:kubernetes:Sandbox";
export const KUBERNETES_FLEET_TYPE = "airlock:kubernetes:Fleet";

type Ctor = new (name: string, args: any, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;
const CLASSES: Record<string, Ctor> = {
  "v1/Namespace": core.Namespace,
  "v1/ServiceAccount": core.ServiceAccount,
  "v1/Pod": core.Pod,
  "v1/Service": core.Service,
  "v1/Secret": core.Secret,
  "v1/ConfigMap": core.ConfigMap,
  "v1/ResourceQuota": core.ResourceQuota,
  "v1/LimitRange": core.LimitRange,
  "networking.k8s.io/v1/NetworkPolicy": networking.NetworkPolicy,
  "node.k8s.io/v1/RuntimeClass": node.RuntimeClass,
  "rbac.authorization.k8s.io/v1/Role": rbac.Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": rbac.RoleBinding,
};

export function register(m: Manifest, name: string, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
  const Cls = CLASSES[`${m.apiVersion}/${m.kind}`];
  if (!Cls) throw new Error(`no Pulumi class for ${m.apiVersion}/${m.kind} (components/kubernetes/component.ts)`);
  return new Cls(name, m, opts);
}

export interface KubernetesSandboxArgs extends SandboxComponentArgs {
  profile: ClusterProfile;
  rendered: RenderedSandbox;
  provider?: Provider;
  /** Cluster-scoped objects the pods need first (RuntimeClasses). */
  dependsOn?: pulumi.Resource[];
  /** The stack's expiry kept in its state (components/expiry.ts), ISO 8601: what the expiry labels say. */
  expiresAt: pulumi.Output<string>;
}

export class KubernetesSandbox extends SandboxComponentBase {
  constructor(name: string, args: KubernetesSandboxArgs, opts?: pulumi.ComponentResourceOptions) {
    super(KUBERNETES_SANDBOX_TYPE, name, {}, opts);
    const { rendered, provider } = args;
    const base: pulumi.CustomResourceOptions = { parent: this, provider };
    // One Output for every object's label (a fleet of N sandboxes registers thousands of objects).
    const kept = { iso: args.expiresAt, label: args.expiresAt.apply((at) => expiryLabelValue(new Date(at), "kubernetes")) };
    const [nsObj, ...rest] = rendered.objects.map((m) => atKeptExpiry(m, kept, rendered.ctx.identity.expiresAt));
    const ns = register(nsObj, `${name}-namespace`, base);
    const early = rest.filter((m) => m.kind !== "Pod").map((m) => register(m, `${name}-${m.kind.toLowerCase()}-${m.metadata.name}`, { ...base, dependsOn: [ns] }));
    for (const m of rest.filter((x) => x.kind === "Pod")) register(m, `${name}-pod-${m.metadata.name}`, { ...base, dependsOn: [ns, ...early, ...(args.dependsOn ?? [])] });
    const ctx = rendered.ctx;
    this.publishOutputs({
      sandboxId: pulumi.output(ctx.identity.id),
      expiresAt: args.expiresAt,
      recordLocation: pulumi.output(recordLocation(ctx)),
      gateEndpoints: pulumi.output(Object.fromEntries(upstreams(ctx).map((u) => [u.name, `${ctx.addresses.gate}:${u.listenPort}`]))),
    });
  }
}

export class KubernetesFleet extends SandboxComponentBase {
  declare readonly members: pulumi.Output<string[]>;
  constructor(name: string, args: SandboxComponentArgs & { profile: ClusterProfile }, opts?: pulumi.ComponentResourceOptions) {
    super(KUBERNETES_FLEET_TYPE, name, {}, opts);
    const { spec, identity, profile } = args;
    const provider = profile.kubeconfig ? new Provider(`${name}-k8s`, { kubeconfig: profile.kubeconfig, context: profile.context }, { parent: this }) : undefined;
    // One expiry per stack, fixed at its first deployment (components/expiry.ts); every member's labels read it.
    const expiresAt = new KeptExpiry().keep(name, { ttlMs: spec.ttlMs, identity }, this);
    const fleet = renderFleet(spec, identity, profile);
    const shared = fleet.cluster.map((m) => register(m, `${name}-runtimeclass-${m.metadata.name}`, { parent: this, provider }));
    const sandboxes = fleet.members.map(
      (rendered, i) => new KubernetesSandbox(profile.fleet.count === 1 ? name : `${name}-${i}`, { spec, identity: memberIdentity(identity, i, profile.fleet.count), profile, rendered, provider, dependsOn: shared, expiresAt }, { parent: this }),
    );
    const first = sandboxes[0];
    // One stack, N sandboxes: the stack outputs name the fleet (its id, shared expiry, record prefix)
    // and the first member's gate endpoints (all members' are the same shape); `members` lists all ids.
    Object.assign(this, { members: pulumi.output(fleet.members.map((m) => m.ctx.identity.id)) });
    this.publishOutputs({
      sandboxId: profile.fleet.count === 1 ? first.sandboxId : pulumi.output(identity.id),
      expiresAt: first.expiresAt,
      recordLocation: profile.fleet.count === 1 ? first.recordLocation : pulumi.output(recordLocation(fleet.members[0].ctx).replace(/[^/]+\/$/, "")),
      gateEndpoints: first.gateEndpoints,
    });
  }
}
