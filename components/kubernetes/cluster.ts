// What Airlock must know about the cluster a Kubernetes sandbox lands on, from the stack config key
// `airlock:kubernetes` (the SandboxSpec stays cloud-neutral): which hypervisor RuntimeClass the
// workload gets and whether the cluster already has it, the cluster's own address ranges (which the
// gate's ipBlocks must except), where cluster DNS runs, who the chaos runner is, the confidential
// node pool, the images of Airlock's own pods, the record's destination, and the fleet size.
// Validated in full before any object is rendered; every issue names its field and the fix.
import { z } from "zod";
import { SpecError, type SpecIssue } from "../spec/issues";
import { knownKeysIn, zodIssues } from "../spec/zod-issues";
import { inRange, parseCidr } from "../spec/net";
import type { SandboxSpec } from "../spec/schema";
import { PINNED_IMAGE, PIN_FIX } from "../spec/image-ref";
export { PINNED_IMAGE };

export const CLUSTER_CONFIG_KEY = "airlock:kubernetes";

/** Hypervisor-isolated runtimes Airlock accepts, and the node handler each usually has. */
export const ISOLATING_RUNTIMES = { gvisor: "runsc", kata: "kata", "kata-fc": "kata-fc" } as const;
export type RuntimeName = keyof typeof ISOLATING_RUNTIMES | "runc";

/** Cloud metadata services a pod must never reach (AWS/GCP/Azure/OpenStack, AWS ECS, Alibaba). */
export const METADATA_CIDRS = ["169.254.169.254/32", "169.254.170.2/32", "100.100.100.200/32"];

/**
 * The gate's default image: Toxiproxy 2.12.0, pinned by the digest of its multi-arch image index on
 * ghcr.io (sha256:9378ed52…, the one public projects pin for ghcr.io/shopify/toxiproxy:2.12.0; no
 * registry is reachable from this host, so it was not pulled here). A mirror keeps the digest.
 */
export const DEFAULT_GATE_IMAGE = "ghcr.io/shopify/toxiproxy:2.12.0@sha256:9378ed52a28bc50edc1350f936f518f31fa95f0d15917d6eb40b8e376d1a214e";

const cidr = z.string().refine((s) => parseCidr(s) !== undefined, { error: "not an IPv4 CIDR; write it like 10.96.0.0/12" });
const labels = z.record(z.string(), z.string());
const toleration = z.strictObject({
  key: z.string().min(1),
  operator: z.enum(["Equal", "Exists"]).default("Equal"),
  value: z.string().optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
});

const overrideSchema = z.strictObject({
  /** Which fleet member (0-based). */
  index: z.number().int().min(0),
  /** Extra environment for this member's workload (e.g. the sample id). */
  env: z.record(z.string(), z.string()).default({}),
  /** This member's workload command instead of the spec's. */
  command: z.array(z.string()).min(1).optional(),
});

export const clusterProfileSchema = z.strictObject({
  /** kubeconfig file and context for `airlock sweep --kubernetes` and real applies (the Pulumi provider reads its own). */
  kubeconfig: z.string().min(1).optional(),
  context: z.string().min(1).optional(),
  /** The workload's RuntimeClass. `runc` (a shared host kernel) needs spec unsafe.sharedKernel. */
  runtimeClass: z.enum(["gvisor", "kata", "kata-fc", "runc"]).default("gvisor"),
  /** The cluster lacks the RuntimeClass objects: Airlock creates them (cluster-scoped, shared by every sandbox). */
  createRuntimeClasses: z.boolean().default(false),
  /** Node handler per RuntimeClass when Airlock creates them (must match the nodes' containerd config). */
  runtimeHandlers: z.record(z.string(), z.string()).default({}),
  /** The cluster's pod and service ranges: every ipBlock of the gate excepts them. */
  podCidr: cidr,
  serviceCidr: cidr,
  /** Private service endpoints the spec's `via: endpoint` upstreams name: the address the gate dials and the range it lies in. */
  endpoints: z.record(z.string(), z.strictObject({ host: z.string().min(1), cidr })).default({}),
  /** The API server's addresses as pods reach them (the guard's only egress); default: the `kubernetes` Service's address. */
  apiServerCidrs: z.array(cidr).default([]),
  /** Where cluster DNS runs; the gate may reach it only when an upstream is a name. */
  dns: z.strictObject({ namespace: z.string().default("kube-system"), podLabels: labels.default({ "k8s-app": "kube-dns" }) }).default({ namespace: "kube-system", podLabels: { "k8s-app": "kube-dns" } }),
  /** The only pods that may reach the gate's Toxiproxy admin port (chaos runs). */
  chaosRunner: z
    .strictObject({ namespace: z.string().default("airlock-system"), podLabels: labels.default({ "airlock.dev/role": "chaos-runner" }) })
    .default({ namespace: "airlock-system", podLabels: { "airlock.dev/role": "chaos-runner" } }),
  /** Confidential nodes: a node pool (selector + tolerations) and/or a confidential RuntimeClass (e.g. kata-cc). */
  confidential: z
    .strictObject({
      nodeSelector: labels.default({}),
      tolerations: z.array(toleration).default([]),
      runtimeClass: z.string().min(1).optional(),
    })
    .optional(),
  images: z
    .strictObject({
      /**
       * The gate is the one process the workload talks to and holds every upstream's path: pinned by
       * digest like every image Airlock deploys (spec/image-ref.ts), so a re-pushed tag cannot swap it.
       */
      gate: z
        .string()
        .regex(PINNED_IMAGE, { error: `the gate image is not pinned by digest, and a tag can be re-pushed with other code; ${PIN_FIX}` })
        .default(DEFAULT_GATE_IMAGE),
      /**
       * The guard holds the only token in the sandbox and decides kills: pinned by digest
       * (<repository>@sha256:<digest>, printed by bin/build-guard-image.sh), never by a tag someone can re-push.
       */
      guard: z
        .string()
        .regex(PINNED_IMAGE, { error: "the guard image is not pinned by digest, and a tag can be re-pushed with other code; write <repository>@sha256:<64 hex> (bin/build-guard-image.sh prints the digest of the image it builds)" })
        .optional(),
    })
    .default({ gate: DEFAULT_GATE_IMAGE }),
  /**
   * Where the record goes: a retention-locked bucket of the cluster's cloud (s3://, gs://, azblob://),
   * and `endpoint`, the address range the guard reaches it at from the pod network (the bucket's
   * private endpoint in the cluster's network): the guard's one egress besides the API server.
   */
  record: z
    .strictObject({
      bucket: z.string().regex(/^(s3|gs|azblob):\/\/[a-z0-9][a-z0-9._-]{1,62}(\/.*)?$/, { error: "not a bucket URL; write s3://<bucket>, gs://<bucket> or azblob://<account>/<container>" }),
      endpoint: cidr,
    })
    .optional(),
  /** N sandboxes from the one spec (distinct namespaces, nothing writable shared). */
  fleet: z.strictObject({ count: z.number().int().min(1).max(5000).default(1), overrides: z.array(overrideSchema).default([]) }).default({ count: 1, overrides: [] }),
});

export type ClusterProfile = z.output<typeof clusterProfileSchema>;

/** Do two IPv4 CIDRs share an address? (One lies inside the other.) */
function overlaps(a: string, b: string): boolean {
  const x = parseCidr(a)!;
  const y = parseCidr(b)!;
  return inRange(x.address, y.address, Math.min(x.prefix, y.prefix)) || inRange(y.address, x.address, Math.min(x.prefix, y.prefix));
}
export type FleetOverride = ClusterProfile["fleet"]["overrides"][number];

/** Validates the stack's `airlock:kubernetes` against the spec; throws a SpecError listing every issue. */
export function parseClusterProfile(doc: unknown, spec: SandboxSpec, source = `config ${CLUSTER_CONFIG_KEY}`): ClusterProfile {
  const res = clusterProfileSchema.safeParse(doc ?? {});
  if (!res.success) throw new SpecError(zodIssues(doc, res.error, [], (p) => knownKeysIn(clusterProfileSchema, p), "see docs/kubernetes.md"), source);
  const p = res.data;
  const issues: SpecIssue[] = [];
  if (p.runtimeClass === "runc" && !spec.waived.includes("sharedKernel"))
    issues.push({
      path: "runtimeClass",
      value: "runc",
      message: "runc shares the node's kernel with the workload: one kernel exploit is a cluster breakout",
      fix: "use gvisor, kata or kata-fc; or set unsafe.sharedKernel: true in the sandbox spec to accept the shared kernel",
    });
  if (spec.confidential !== "none" && !(p.confidential && (Object.keys(p.confidential.nodeSelector).length > 0 || p.confidential.runtimeClass)))
    issues.push({
      path: "confidential",
      value: p.confidential,
      message: `the spec asks for a confidential (${spec.confidential}) workload but the stack names no confidential node pool or RuntimeClass`,
      fix: "add confidential: { nodeSelector: {<label of the SEV-SNP/TDX pool>: ...}, tolerations: [...] } or confidential: { runtimeClass: kata-cc } to airlock:kubernetes",
    });
  spec.egressResolved.forEach((e, i) => {
    const own = [p.podCidr, p.serviceCidr, ...METADATA_CIDRS].find((r) => e.via === "address" && e.host && inRange(e.host, r.split("/")[0], Number(r.split("/")[1])));
    if (own)
      issues.push({ path: `egress.allow[${i}].host`, value: e.host, message: `the address lies inside the cluster's own range ${own} (pods, Services or cloud metadata)`, fix: "reach in-cluster services as targets (via: target); an upstream by address must be outside the cluster" });
    if (e.via === "endpoint" && !p.endpoints[e.service!])
      issues.push({ path: "endpoints", value: Object.keys(p.endpoints), message: `the spec's egress.allow[${i}] names endpoint service '${e.service}' but the cluster profile does not say where it is`, fix: `add endpoints: { ${e.service}: { host: <private address or name>, cidr: <its range> } }` });
  });
  if (spec.logging.lockMode !== "none" && !p.record)
    issues.push({ path: "record", value: undefined, message: "the record must go to a retention-locked bucket outside the cluster", fix: "add record: { bucket: s3://<bucket with Object Lock> } (or gs:// / azblob://), or set unsafe.unlockedLogs with logging.lockMode: none" });
  if (spec.killSwitch.rules.length > 0 && !p.images.guard)
    issues.push({
      path: "images.guard",
      value: undefined,
      message: "the spec has kill rules, so the sandbox runs the guard, but the stack names no guard image",
      fix: "build it with bin/build-guard-image.sh, push the OCI layout to your registry, and set images.guard: <repository>@sha256:<the digest it printed>",
    });
  const recordInside = p.record && [p.podCidr, p.serviceCidr, ...METADATA_CIDRS].find((r) => overlaps(p.record!.endpoint, r));
  if (recordInside)
    issues.push({ path: "record.endpoint", value: p.record!.endpoint, message: `the record endpoint overlaps the cluster's own range ${recordInside} (pods, Services or cloud metadata)`, fix: "give the bucket's private endpoint address in the cluster's network (e.g. the S3 interface endpoint's IP /32)" });
  for (const [i, o] of p.fleet.overrides.entries())
    if (o.index >= p.fleet.count)
      issues.push({ path: `fleet.overrides[${i}].index`, value: o.index, message: `no fleet member ${o.index} (count is ${p.fleet.count})`, fix: `use an index below ${p.fleet.count} or raise fleet.count` });
  if (issues.length) throw new SpecError(issues, source);
  return p;
}
