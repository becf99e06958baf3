// The Kubernetes objects Airlock renders, as plain manifests: the one shape the Pulumi component
// registers, the API client applies, and the invariant facts read. The kinds table is the only place
// that knows each kind's REST path and Pulumi type token.

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: any;
}

interface KindInfo {
  plural: string;
  namespaced: boolean;
  /** @pulumi/kubernetes type token (as in the SDK's `__pulumiType`). */
  token: string;
}

/** Every kind Airlock renders. A kind missing here is a programming error, reported by name. */
export const KINDS: Record<string, KindInfo> = {
  "v1/Namespace": { plural: "namespaces", namespaced: false, token: "kubernetes:core/v1:Namespace" },
  "v1/ServiceAccount": { plural: "serviceaccounts", namespaced: true, token: "kubernetes:core/v1:ServiceAccount" },
  "v1/Pod": { plural: "pods", namespaced: true, token: "kubernetes:core/v1:Pod" },
  "v1/Service": { plural: "services", namespaced: true, token: "kubernetes:core/v1:Service" },
  "v1/Secret": { plural: "secrets", namespaced: true, token: "kubernetes:core/v1:Secret" },
  "v1/ConfigMap": { plural: "configmaps", namespaced: true, token: "kubernetes:core/v1:ConfigMap" },
  "v1/ResourceQuota": { plural: "resourcequotas", namespaced: true, token: "kubernetes:core/v1:ResourceQuota" },
  "v1/LimitRange": { plural: "limitranges", namespaced: true, token: "kubernetes:core/v1:LimitRange" },
  "v1/Event": { plural: "events", namespaced: true, token: "kubernetes:core/v1:Event" },
  "v1/Node": { plural: "nodes", namespaced: false, token: "kubernetes:core/v1:Node" },
  "networking.k8s.io/v1/NetworkPolicy": { plural: "networkpolicies", namespaced: true, token: "kubernetes:networking.k8s.io/v1:NetworkPolicy" },
  "node.k8s.io/v1/RuntimeClass": { plural: "runtimeclasses", namespaced: false, token: "kubernetes:node.k8s.io/v1:RuntimeClass" },
  "rbac.authorization.k8s.io/v1/Role": { plural: "roles", namespaced: true, token: "kubernetes:rbac.authorization.k8s.io/v1:Role" },
  "rbac.authorization.k8s.io/v1/RoleBinding": { plural: "rolebindings", namespaced: true, token: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding" },
};

export function kindInfo(apiVersion: string, kind: string): KindInfo {
  const info = KINDS[`${apiVersion}/${kind}`];
  if (!info) throw new Error(`Airlock renders no Kubernetes kind ${apiVersion}/${kind} (components/kubernetes/manifest.ts KINDS)`);
  return info;
}

/** The kind's Pulumi type token, or undefined for a type that is not a Kubernetes object. */
export function kindOfToken(token: string): { apiVersion: string; kind: string } | undefined {
  for (const [k, v] of Object.entries(KINDS)) {
    if (v.token !== token) continue;
    const i = k.lastIndexOf("/");
    return { apiVersion: k.slice(0, i), kind: k.slice(i + 1) };
  }
  return undefined;
}

/** REST path of one object, or of its collection. */
export function resourcePath(m: Pick<Manifest, "apiVersion" | "kind" | "metadata">, opts: { collection?: boolean; allNamespaces?: boolean } = {}): string {
  const info = kindInfo(m.apiVersion, m.kind);
  const prefix = m.apiVersion.includes("/") ? `/apis/${m.apiVersion}` : `/api/${m.apiVersion}`;
  const ns = info.namespaced && !opts.allNamespaces ? `/namespaces/${encodeURIComponent(m.metadata.namespace ?? "")}` : "";
  if (info.namespaced && !opts.allNamespaces && !m.metadata.namespace) throw new Error(`${m.kind} ${m.metadata.name} has no namespace`);
  return `${prefix}${ns}/${info.plural}${opts.collection ? "" : `/${encodeURIComponent(m.metadata.name)}`}`;
}

/** "Kind namespace/name" for messages. */
export function describe(m: Pick<Manifest, "kind" | "metadata">): string {
  return `${m.kind} ${m.metadata.namespace ? `${m.metadata.namespace}/` : ""}${m.metadata.name}`;
}
