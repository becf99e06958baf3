// The conformance table's breakages, spelt for GCP (MUTATION_KINDS in backend-descriptor.ts): each
// changes a copy of a stack's graph the way a mistaken component would, and names the invariant and
// finding that must catch it. Pure: type tokens and property names only.
import type { MutationCase } from "../backend-descriptor";
import type { GraphNode, ResourceGraph } from "../invariants/graph";
import { oneNamed as one } from "../invariants/mutation-target";
import { withGuardConfig, withoutGuardInstall, withoutMetadataFilter } from "../guest/install";


const T = {
  network: "gcp:compute/network:Network",
  subnet: "gcp:compute/subnetwork:Subnetwork",
  firewall: "gcp:compute/firewall:Firewall",
  route: "gcp:compute/route:Route",
  instance: "gcp:compute/instance:Instance",
  bucket: "gcp:storage/bucket:Bucket",
  projectMember: "gcp:projects/iAMMember:IAMMember",
};

const workload = (g: ResourceGraph) => one(g, T.instance, "workload");
const emailOf = (i: GraphNode) => i.inputs.serviceAccount.email as string;

function addFirewall(g: ResourceGraph, name: string, inputs: Record<string, unknown>): void {
  const network = one(g, T.network, "vpc").id;
  g.add({ type: T.firewall, name, inputs: { network, priority: 900, logConfig: { metadata: "INCLUDE_ALL_METADATA" }, ...inputs }, id: `projects/p/global/firewalls/${name}` });
}

export const gcpMutations: readonly MutationCase[] = [
  {
    kind: "default-route",
    stack: "gcp",
    fails: "I1",
    // The network created without deleting GCP's default 0.0.0.0/0 route to the internet gateway.
    mutate: (g) => void (one(g, T.network, "vpc").inputs.deleteDefaultRoutesOnCreate = false),
    finding: { resource: /Network::.*-vpc$/, message: /keeps GCP's default route 0\.0\.0\.0\/0/ },
  },
  {
    kind: "open-egress",
    stack: "gcp",
    fails: "I2",
    mutate: (g) => addFirewall(g, "added-open-egress", { direction: "EGRESS", allows: [{ protocol: "tcp", ports: ["443"] }], destinationRanges: ["0.0.0.0/0"], targetServiceAccounts: [emailOf(workload(g))] }),
    finding: { resource: /added-open-egress$/, message: /workload may open tcp\/443 to 0\.0\.0\.0\/0/ },
  },
  {
    kind: "all-protocols",
    stack: "gcp",
    fails: "I2",
    // To a peer the gate may reach (the target's address): only the protocol is wrong.
    mutate: (g) => {
      const target = one(g, T.instance, "target-vuln-webapp");
      addFirewall(g, "added-all-protocols", { direction: "EGRESS", allows: [{ protocol: "all" }], destinationRanges: [`${target.inputs.networkInterfaces[0].networkIp}/32`], targetServiceAccounts: [emailOf(one(g, T.instance, "gate"))] });
    },
    finding: { resource: /added-all-protocols$/, message: /gate allows every protocol and port/ },
  },
  {
    kind: "public-ip",
    stack: "gcp",
    fails: "I1",
    mutate: (g) => void (workload(g).inputs.networkInterfaces[0].accessConfigs = [{}]),
    finding: { resource: /Instance::.*-workload$/, message: /access config \(external IP\)/ },
  },
  {
    kind: "unlocked-retention",
    stack: "gcp",
    fails: "I5",
    mutate: (g) => void delete one(g, T.bucket, "record").inputs.retentionPolicy,
    finding: { resource: /Bucket::.*-record$/, message: /not retention-locked/ },
  },
  {
    kind: "unlocked-artifacts",
    stack: "gcp",
    fails: "I5",
    // The artifacts bucket without its retention policy: installed files and canaries can be replaced or deleted.
    mutate: (g) => void delete one(g, T.bucket, "artifacts").inputs.retentionPolicy,
    finding: { resource: /Bucket::.*-artifacts$/, message: /^the artifacts store \(installed files and canaries\) is not retention-locked$/ },
  },
  {
    kind: "ssh-keys",
    stack: "gcp",
    fails: "I4",
    mutate: (g) => void delete workload(g).inputs.metadata["block-project-ssh-keys"],
    finding: { resource: /Instance::.*-workload$/, message: /project-wide SSH keys are allowed/ },
  },
  {
    kind: "identity-grant",
    stack: "gcp",
    fails: "I4",
    mutate: (g) => void g.add({ type: T.projectMember, name: "added-editor", inputs: { project: "p", role: "roles/editor", member: `serviceAccount:${emailOf(workload(g))}` } }),
    finding: { resource: /added-editor$/, message: /allows wildcard action/ },
  },
  {
    kind: "missing-ttl",
    stack: "gcp",
    fails: "I7",
    mutate: (g) => {
      for (const i of g.nodes.filter((n) => n.type === T.instance)) delete i.inputs.scheduling.terminationTime;
    },
    finding: { resource: /\(graph\)/, message: /no platform-enforced TTL/ },
  },
  {
    kind: "tee-dropped",
    stack: "gcp-tee",
    fails: "I8",
    mutate: (g) => void delete workload(g).inputs.confidentialInstanceConfig,
    finding: { resource: /Instance::.*-workload$/, message: /asks for sev-snp, the machine has none/ },
  },
  {
    kind: "workload-in-gate-group",
    stack: "gcp",
    fails: "I2",
    // The workload runs as the gate's service account: every allow keyed by it now applies to the workload.
    mutate: (g) => void (workload(g).inputs.serviceAccount.email = emailOf(one(g, T.instance, "gate"))),
    finding: { resource: /-fw-gate-to-/, message: /^workload may open / },
  },
  {
    kind: "workload-in-gate-subnet",
    stack: "gcp",
    fails: "I1",
    mutate: (g) => void (workload(g).inputs.networkInterfaces[0].subnetwork = one(g, T.subnet, "gate-subnet").id),
    finding: { resource: /Instance::.*-workload$/, message: /shares subnet .*-gate-subnet with the gate/ },
  },
  {
    kind: "workload-on-gate-routing",
    stack: "gcp",
    fails: "I1",
    // GCP has no per-subnet route table: routes are scoped by network tag. The workload given the
    // gate's tag gets the gate's route (here the unsafe.allowInternet one, added for the test).
    mutate: (g) => {
      const network = one(g, T.network, "vpc").id;
      g.add({ type: T.route, name: "added-gate-internet-route", inputs: { network, destRange: "0.0.0.0/0", nextHopGateway: "default-internet-gateway", tags: ["egress-gate"] }, id: "projects/p/global/routes/added" });
      one(g, T.instance, "gate").inputs.tags = ["egress-gate"];
      workload(g).inputs.tags = ["egress-gate"];
    },
    finding: { resource: /Instance::.*-workload$/, message: /route table .*added-gate-internet-route, which also routes the gate/ },
  },
  {
    kind: "guard-missing-rule",
    stack: "gcp",
    fails: "I9",
    mutate: (g) => {
      const m = workload(g).inputs.metadata;
      m["startup-script"] = withGuardConfig(m["startup-script"], (c) => ({ ...c, rules: c.rules.filter((r) => r.on !== "pids-limit") }));
    },
    finding: { resource: /Instance::.*-workload$/, message: /the guard lacks the kill rule 'pids-limit'/ },
  },
  {
    kind: "guard-no-metadata-filter",
    stack: "gcp",
    fails: "I9",
    mutate: (g) => {
      const m = workload(g).inputs.metadata;
      m["startup-script"] = withGuardConfig(m["startup-script"], withoutMetadataFilter);
    },
    finding: { resource: /Instance::.*-workload$/, message: /the guard has no metadata filter/ },
  },
  {
    kind: "guard-not-installed",
    stack: "gcp",
    fails: "I9",
    mutate: (g) => {
      const m = workload(g).inputs.metadata;
      m["startup-script"] = withoutGuardInstall(m["startup-script"]);
    },
    finding: { resource: /Instance::.*-workload$/, message: /the guard's install lacks the config/ },
  },
];
