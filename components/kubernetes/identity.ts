// Identities inside the sandbox: one ServiceAccount per pod role, none with a token mounted except
// the guard's, and the guard's Role lets it read, patch (its deadline) and delete exactly its own
// workload pod (by name, in its own namespace) and read the gate's log (the flow log it ships) —
// nothing cluster-wide, no other verb, no other object.
import { meta, type RenderContext } from "./context";
import type { Manifest } from "./manifest";
import { WORKLOAD_POD } from "./workload";
import { guardEnabled } from "./killswitch";
import { GATE_POD } from "./gate";

export function serviceAccounts(ctx: RenderContext): Manifest[] {
  const roles = ["workload", "gate", ...(ctx.spec.targets.length ? ["target"] : []), ...(guardEnabled(ctx) ? ["guard"] : [])];
  return roles.map((r) => ({ apiVersion: "v1", kind: "ServiceAccount", metadata: meta(ctx, r), automountServiceAccountToken: r === "guard" }));
}

export function guardRbac(ctx: RenderContext): Manifest[] {
  if (!guardEnabled(ctx)) return [];
  return [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: meta(ctx, "guard"),
      rules: [
        // patch: to lower the workload's activeDeadlineSeconds to the sandbox's expiry (guard-program.ts
        // deadlineAtExpiry). RBAC cannot narrow a verb to one field: the API server's pod-update
        // validation limits a patch of a pod's spec to a lower deadline, container images, added
        // tolerations and the grace period, but labels too can be patched (docs/kubernetes.md).
        { apiGroups: [""], resources: ["pods"], resourceNames: [WORKLOAD_POD], verbs: ["get", "watch", "patch", "delete"] },
        // The gate's connection log is the sandbox's flow log: the guard reads it to ship it to the record.
        { apiGroups: [""], resources: ["pods/log"], resourceNames: [GATE_POD], verbs: ["get"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta(ctx, "guard"),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "guard" },
      subjects: [{ kind: "ServiceAccount", name: "guard", namespace: ctx.ns }],
    },
  ];
}
