// Kubernetes spec rules (pure, run before anything is rendered): TEE kinds a confidential node pool or
// RuntimeClass can provide (SEV-SNP or TDX nodes; any other kind is refused by the shared rule in
// spec/backend-rules.ts), and upstream addresses a NetworkPolicy can match —
// a policy matches addresses, never names, so `via: address` needs an IPv4 literal, private unless
// unsafe.allowInternet; and the images the sandbox's pods run — the workload's and each target's —
// named and pinned by digest (spec/image-ref.ts: a tag can be re-pushed, and a replaced pod or a node
// pulling again would run the new code; there is no default image for the same reason). No opt-out:
// neither the issue nor the design asks for one. Cluster facts (runtime, ranges, node pools, Airlock's
// own images) are checked in cluster.ts.
import type { BackendRules } from "../spec/backend-rules";
import type { SpecIssue } from "../spec/issues";
import { isPrivateIpv4 } from "../spec/net";
import { unpinnedImageIssue } from "../spec/image-ref";

export const kubernetesRules: BackendRules = {
  backend: "kubernetes",
  confidential: ["sev-snp", "tdx"],
  validateSpec(spec) {
    const issues: SpecIssue[] = [];
    spec.egress.allow.forEach((e, i) => {
      if (e.via !== "address" || !e.host) return;
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(e.host))
        issues.push({ path: `egress.allow[${i}].host`, value: e.host, message: "a NetworkPolicy matches addresses, not names", fix: "write the upstream's IPv4 address, or name it as a private endpoint (via: endpoint) that the cluster profile maps" });
      else if (!isPrivateIpv4(e.host) && !spec.unsafe.allowInternet)
        issues.push({ path: `egress.allow[${i}].host`, value: e.host, message: "a public address is an internet path", fix: "use a private (RFC 1918) address or a private endpoint (via: endpoint), or set unsafe.allowInternet: true" });
    });
    const workloadImage = unpinnedImageIssue("workload.image", spec.workload.image, "the workload (a container image on Kubernetes)");
    if (workloadImage) issues.push(workloadImage);
    spec.targets.forEach((t, i) => {
      const issue = unpinnedImageIssue(`targets[${i}].image`, t.image, `target '${t.name}' (a container image on Kubernetes)`);
      if (issue) issues.push(issue);
    });
    return issues;
  },
};
