// The conformance table's breakages, spelt for Kubernetes (MUTATION_KINDS and PLATFORM_MUTATION_KINDS
// in backend-descriptor.ts): each changes a copy of a stack's graph the way a mistaken renderer or a
// hand edit would, and names the invariant and finding that must catch it. Pure: type tokens and
// manifest fields only. Kinds with no Kubernetes counterpart are listed, with why, in
// kubernetesNotApplicable; tee-dropped is still to write (no confidential k8s stack yet).
import type { MutationCase, MutationKind } from "../backend-descriptor";
import type { ResourceGraph } from "../invariants/graph";
import { oneNamed as one } from "../invariants/mutation-target";

const T = {
  pod: "kubernetes:core/v1:Pod",
  ns: "kubernetes:core/v1:Namespace",
  service: "kubernetes:core/v1:Service",
  np: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  roleBinding: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
};

const workload = (g: ResourceGraph) => one(g, T.pod, "pod-workload");
const policy = (g: ResourceGraph, name: string) => one(g, T.np, `networkpolicy-${name}`);

export const kubernetesMutations: readonly MutationCase[] = [
  {
    kind: "open-egress",
    stack: "k8s",
    fails: "I2",
    mutate: (g) => void policy(g, "workload-to-gate").inputs.spec.egress.push({ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: 443 }] }),
    finding: { resource: /networkpolicy-workload-to-gate$/, message: /workload may open tcp\/443 to 0\.0\.0\.0\/0/ },
  },
  {
    kind: "all-protocols",
    stack: "k8s",
    fails: "I2",
    // To a peer the gate may reach (its target): only the missing port list is wrong.
    mutate: (g) => void policy(g, "gate-to-upstreams").inputs.spec.egress.push({ to: [{ podSelector: { matchLabels: { "airlock.dev/role": "target" } } }] }),
    finding: { resource: /networkpolicy-gate-to-upstreams$/, message: /gate allows every protocol and port/ },
  },
  {
    kind: "missing-default-deny",
    stack: "k8s",
    fails: "I3",
    // Nothing else isolates the workload for ingress: without the default deny every pod may connect to it.
    mutate: (g) => void g.remove((n) => n.type === T.np && n.name.endsWith("-networkpolicy-default-deny")),
    finding: { resource: /Pod::.*-pod-workload$/, message: /no NetworkPolicy isolates pod .*\/workload for Ingress/ },
  },
  {
    kind: "api-token",
    stack: "k8s",
    fails: "I4",
    mutate: (g) => void (workload(g).inputs.spec.automountServiceAccountToken = true),
    finding: { resource: /Pod::.*-pod-workload$/, message: /service-account token is mounted/ },
  },
  {
    kind: "host-network",
    stack: "k8s-kata",
    fails: "I1",
    mutate: (g) => void (workload(g).inputs.spec.hostNetwork = true),
    finding: { resource: /Pod::.*-pod-workload$/, message: /hostNetwork: the pod uses the node's network/ },
  },
  {
    kind: "privileged",
    stack: "k8s",
    fails: "I4",
    mutate: (g) => void (workload(g).inputs.spec.containers[0].securityContext.privileged = true),
    finding: { resource: /Pod::.*-pod-workload$/, message: /container workload is privileged/ },
  },
  {
    kind: "shared-kernel",
    stack: "k8s-kata",
    fails: "I4",
    mutate: (g) => void (workload(g).inputs.spec.runtimeClassName = "runc"),
    finding: { resource: /Pod::.*-pod-workload$/, message: /runs under runc: it shares the node's kernel/ },
  },
  {
    kind: "missing-ttl",
    stack: "k8s",
    fails: "I7",
    mutate: (g) => void delete workload(g).inputs.spec.activeDeadlineSeconds,
    finding: { resource: /Pod::.*-pod-workload$/, message: /workload is not ended by the platform TTL/ },
  },
  {
    kind: "deadline-past-ttl",
    stack: "k8s",
    fails: "I7",
    // An hour more than the TTL: the kubelet would keep the workload past the sandbox's expiry.
    mutate: (g, spec) => void (workload(g).inputs.spec.activeDeadlineSeconds = Math.ceil(spec.ttlMs / 1000) + 3600),
    finding: { resource: /Pod::.*-pod-workload$/, message: /^workload may run \d+ s from its start \(activeDeadlineSeconds\), longer than the TTL/ },
  },
  {
    kind: "cross-namespace-ingress",
    stack: "k8s",
    fails: "I3",
    // Workload-labelled pods of *every* namespace (another sandbox's workload among them).
    mutate: (g) => void policy(g, "gate-from-workload").inputs.spec.ingress[0].from.push({ namespaceSelector: {}, podSelector: { matchLabels: { "airlock.dev/role": "workload" } } }),
    finding: { resource: /networkpolicy-gate-from-workload$/, message: /gate accepts .* from an unlisted peer/ },
  },
  {
    kind: "workload-in-gate-group",
    stack: "k8s",
    fails: "I2",
    // Labelled like the gate, the workload is selected by the gate's policies and gets its egress.
    mutate: (g) => void (workload(g).inputs.metadata.labels["airlock.dev/role"] = "gate"),
    finding: { resource: /networkpolicy-gate-to-upstreams$/, message: /^workload may open / },
  },
  {
    kind: "public-ip",
    stack: "k8s",
    fails: "I1",
    mutate: (g) => void (one(g, T.service, "service-gate").inputs.spec.type = "LoadBalancer"),
    finding: { resource: /Service::.*-service-gate$/, message: /Service type LoadBalancer/ },
  },
  {
    kind: "unlocked-retention",
    stack: "k8s",
    fails: "I5",
    mutate: (g) => void delete one(g, T.ns, "namespace").inputs.metadata.annotations["airlock.dev/record-lock"],
    finding: { resource: /Namespace::.*-namespace$/, message: /not retention-locked/ },
  },
  {
    kind: "record-not-shipped",
    stack: "k8s",
    fails: "I5",
    // Without its egress to the bucket's endpoint the guard cannot ship the gate's log: no flow log.
    mutate: (g) => void g.remove((n) => n.type === T.np && n.name.endsWith("-networkpolicy-guard-to-record")),
    finding: { resource: /Namespace::.*-namespace$/, message: /no flow log of all traffic into the record/ },
  },
  {
    kind: "record-not-shipped",
    stack: "k8s-kata",
    fails: "I5",
    // The path is open but the guard may no longer read the gate's log (its Role): nothing to ship.
    mutate: (g) => {
      const role = one(g, "kubernetes:rbac.authorization.k8s.io/v1:Role", "role-guard");
      role.inputs.rules = role.inputs.rules.filter((r: any) => !r.resources.includes("pods/log"));
    },
    finding: { resource: /Namespace::.*-namespace$/, message: /no flow log of all traffic into the record/ },
  },
  {
    kind: "identity-grant",
    stack: "k8s",
    fails: "I4",
    mutate: (g) => {
      const ns = workload(g).inputs.metadata.namespace;
      g.add({
        type: T.roleBinding,
        name: "added-cluster-admin",
        inputs: { metadata: { name: "workload-admin", namespace: ns }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" }, subjects: [{ kind: "ServiceAccount", name: "workload", namespace: ns }] },
      });
    },
    finding: { resource: /added-cluster-admin$/, message: /ClusterRole cluster-admin/ },
  },
  {
    kind: "guard-missing-rule",
    stack: "k8s",
    fails: "I9",
    mutate: (g) => {
      const cm = g.nodes.find((n) => n.type === "kubernetes:core/v1:ConfigMap" && n.inputs.metadata?.name === "guard");
      if (!cm) throw new Error("mutation: no guard ConfigMap");
      const rules = JSON.parse(cm.inputs.data["rules.json"]);
      cm.inputs.data["rules.json"] = JSON.stringify({ ...rules, rules: rules.rules.filter((r: { on: string }) => r.on !== "pids-limit") });
    },
    finding: { resource: /Pod::.*-pod-guard$/, message: /the guard lacks the kill rule 'pids-limit'/ },
  },
  {
    kind: "guard-not-installed",
    stack: "k8s",
    fails: "I9",
    mutate: (g) => void g.remove((n) => n.type === T.pod && n.name.endsWith("-pod-guard")),
    finding: { resource: /Pod::.*-pod-workload$/, message: /no guard watches the workload/ },
  },
];

/** Kinds with nothing to break on Kubernetes (the conformance table names them as such). */
export const kubernetesNotApplicable: Readonly<Partial<Record<MutationKind, string>>> = {
  "default-route": "one pod network, no routes per pod: the default-deny NetworkPolicies are the boundary (missing-default-deny)",
  "workload-in-gate-subnet": "no subnets per pod: namespace and pod selectors place the workload (workload-in-gate-group)",
  "workload-on-gate-routing": "no route tables per pod: namespace and pod selectors place the workload (workload-in-gate-group)",
  "ssh-keys": "no SSH on a pod; the service-account API token is its counterpart (api-token)",
  "guard-no-metadata-filter": "no in-guest guard and no metadata filter: the pod's egress is the namespace's default-deny NetworkPolicies, which give the workload no path to a node's metadata server (missing-default-deny)",
  "unlocked-artifacts": "no artifacts store: the guard is an image pinned by digest and the canaries an immutable Secret (facts.ts artifactStores)",
};
