// Kubernetes stacks as the tests use them: the stack file's spec and cluster profile, rendered with a
// fixed identity (so object names are stable), optionally adjusted for the test cluster.
import { readStackConfig } from "../../components/invariants/mock-graph";
import { parseSpec, stackFile } from "../../components/spec";
import { identityFor } from "../../components/naming";
import { parseClusterProfile, CLUSTER_CONFIG_KEY, type ClusterProfile } from "../../components/kubernetes/cluster";
import { renderFleet } from "../../components/kubernetes/render";
import type { SandboxSpec } from "../../components/spec/schema";

export const K8S_STACKS = ["k8s", "k8s-kata", "k8s-fleet"] as const;

export function stackDocs(stack: string): { spec: any; profile: any } {
  const cfg = readStackConfig(stackFile(stack));
  return { spec: JSON.parse(cfg["airlock:sandbox"]), profile: JSON.parse(cfg[CLUSTER_CONFIG_KEY] ?? "{}") };
}

export function renderDocs(specDoc: any, profileDoc: any, opts: { suffix?: string; now?: Date } = {}) {
  const spec: SandboxSpec = parseSpec(specDoc);
  const profile: ClusterProfile = parseClusterProfile(profileDoc, spec);
  const identity = identityFor(spec, { uniqueSuffix: opts.suffix ?? "t0", now: opts.now });
  return { spec, profile, identity, ...renderFleet(spec, identity, profile) };
}

export function renderStack(stack: string, adjust: (d: { spec: any; profile: any }) => void = () => {}, opts: { suffix?: string; now?: Date } = {}) {
  const docs = stackDocs(stack);
  adjust(docs);
  return renderDocs(docs.spec, docs.profile, opts);
}
