// The conformance table's breakages, spelt for AWS (see MUTATION_KINDS in backend-descriptor.ts):
// each changes a copy of a stack's graph the way a mistaken component would, and names the
// invariant and finding that must catch it. Pure: type tokens and property names only.
import type { MutationCase } from "../backend-descriptor";
import type { ResourceGraph } from "../invariants/graph";
import { oneNamed as one, removeNamed } from "../invariants/mutation-target";
import { withGuardConfig, withoutGuardInstall, withoutMetadataFilter } from "../guest/install";


const T = {
  instance: "aws:ec2/instance:Instance",
  routeTable: "aws:ec2/routeTable:RouteTable",
  routeTableAssociation: "aws:ec2/routeTableAssociation:RouteTableAssociation",
  subnet: "aws:ec2/subnet:Subnet",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  egressRule: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  keyPair: "aws:ec2/keyPair:KeyPair",
  role: "aws:iam/role:Role",
  rolePolicyAttachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  bucketLock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
  schedule: "aws:scheduler/schedule:Schedule",
};

const addEgress = (g: ResourceGraph, name: string, group: string, inputs: Record<string, unknown>) =>
  g.add({ type: T.egressRule, name, inputs: { securityGroupId: one(g, T.securityGroup, `${group}-sg`).id, ...inputs }, id: `sgr-${name}` });

export const awsMutations: readonly MutationCase[] = [
  {
    kind: "default-route",
    stack: "aws",
    fails: "I1",
    mutate: (g) => void one(g, T.routeTable, "workload-rt").inputs.routes.push({ cidrBlock: "0.0.0.0/0", gatewayId: "igw-added" }),
    finding: { resource: /-workload-rt$/, message: /route to 0\.0\.0\.0\/0 .*leads out of the boundary/ },
  },
  {
    kind: "open-egress",
    stack: "aws",
    fails: "I2",
    mutate: (g) => void addEgress(g, "added-open-egress", "workload", { ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" }),
    finding: { resource: /added-open-egress$/, message: /workload may open tcp\/443 to 0\.0\.0\.0\/0/ },
  },
  {
    kind: "all-protocols",
    stack: "aws",
    fails: "I2",
    // To a peer the gate may reach (the targets): only the protocol is wrong.
    mutate: (g) => void addEgress(g, "added-all-protocols", "gate", { ipProtocol: "-1", referencedSecurityGroupId: one(g, T.securityGroup, "targets-sg").id }),
    finding: { resource: /added-all-protocols$/, message: /gate allows every protocol and port/ },
  },
  {
    kind: "public-ip",
    stack: "aws",
    fails: "I1",
    mutate: (g) => void (one(g, T.instance, "workload").inputs.associatePublicIpAddress = true),
    finding: { resource: /Instance::.*-workload$/, message: /associatePublicIpAddress is true/ },
  },
  {
    kind: "unlocked-retention",
    stack: "aws",
    fails: "I5",
    mutate: (g) => void g.remove((n) => n.type === T.bucketLock),
    finding: { resource: /-record$/, message: /not retention-locked/ },
  },
  {
    kind: "unlocked-artifacts",
    stack: "aws",
    fails: "I5",
    // Only the artifacts bucket's Object Lock configuration goes: the record keeps its own.
    mutate: (g) => void removeNamed(g, T.bucketLock, "artifacts-lock"),
    finding: { resource: /Bucket::.*-artifacts$/, message: /^the artifacts store \(installed files and canaries\) is not retention-locked$/ },
  },
  {
    kind: "ssh-keys",
    stack: "aws",
    fails: "I4",
    mutate: (g) => {
      g.add({ type: T.keyPair, name: "added-key", inputs: { publicKey: "ssh-ed25519 AAAA laptop" }, id: "laptop" });
      one(g, T.instance, "workload").inputs.keyName = "laptop";
    },
    finding: { resource: /Instance::.*-workload$/, message: /SSH key handed to the instance/ },
  },
  {
    kind: "identity-grant",
    stack: "aws",
    fails: "I4",
    mutate: (g) => void g.add({ type: T.rolePolicyAttachment, name: "added-admin", inputs: { role: one(g, T.role, "workload-role").state.name, policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" } }),
    finding: { resource: /added-admin$/, message: /attached policy .*AdministratorAccess/ },
  },
  {
    kind: "missing-ttl",
    stack: "aws",
    fails: "I7",
    mutate: (g) => void g.remove((n) => n.type === T.schedule),
    finding: { resource: /\(graph\)/, message: /no platform-enforced TTL/ },
  },
  {
    kind: "tee-dropped",
    stack: "aws-tee",
    fails: "I8",
    mutate: (g) => void delete one(g, T.instance, "workload").inputs.cpuOptions,
    finding: { resource: /Instance::.*-workload$/, message: /asks for sev-snp, the machine has none/ },
  },
  {
    kind: "workload-in-gate-group",
    stack: "aws",
    fails: "I2",
    mutate: (g) => void one(g, T.instance, "workload").inputs.vpcSecurityGroupIds.push(one(g, T.securityGroup, "gate-sg").id),
    finding: { resource: /-gate-to-/, message: /^workload may open / },
  },
  {
    kind: "workload-in-gate-subnet",
    stack: "aws",
    fails: "I1",
    mutate: (g) => void (one(g, T.instance, "workload").inputs.subnetId = one(g, T.subnet, "gate-subnet").id),
    finding: { resource: /Instance::.*-workload$/, message: /shares subnet .*-gate-subnet with the gate/ },
  },
  {
    kind: "workload-on-gate-routing",
    stack: "aws",
    fails: "I1",
    mutate: (g) => void (one(g, T.routeTableAssociation, "workload-rta").inputs.routeTableId = one(g, T.routeTable, "gate-rt").id),
    finding: { resource: /Instance::.*-workload$/, message: /route table .*-gate-rt, which also routes the gate/ },
  },
  {
    kind: "guard-missing-rule",
    stack: "aws",
    fails: "I9",
    mutate: (g) => {
      const w = one(g, T.instance, "workload");
      w.inputs.userData = withGuardConfig(w.inputs.userData, (c) => ({ ...c, rules: c.rules.filter((r) => r.on !== "pids-limit") }));
    },
    finding: { resource: /Instance::.*-workload$/, message: /the guard lacks the kill rule 'pids-limit'/ },
  },
  {
    kind: "guard-no-metadata-filter",
    stack: "aws",
    fails: "I9",
    mutate: (g) => {
      const w = one(g, T.instance, "workload");
      w.inputs.userData = withGuardConfig(w.inputs.userData, withoutMetadataFilter);
    },
    finding: { resource: /Instance::.*-workload$/, message: /the guard has no metadata filter/ },
  },
  {
    kind: "guard-not-installed",
    stack: "aws",
    fails: "I9",
    mutate: (g) => {
      const w = one(g, T.instance, "workload");
      w.inputs.userData = withoutGuardInstall(w.inputs.userData);
    },
    finding: { resource: /Instance::.*-workload$/, message: /the guard's install lacks the config/ },
  },
];
