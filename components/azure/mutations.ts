// The conformance table's breakages, spelt for Azure (see MUTATION_KINDS in backend-descriptor.ts):
// each changes a copy of a stack's graph the way a mistaken component would, and names the
// invariant and finding that must catch it. Pure: type tokens and property names only (checked
// against @pulumi/azure-native 3.28.0 .d.ts, as in facts.ts). Azure-only breakages (a subnet with
// default outbound access, the sealer or kill workflow removed, ...) stay in test/azure-sandbox.test.ts.
import type { MutationCase } from "../backend-descriptor";
import type { GraphNode, ResourceGraph } from "../invariants/graph";
import { oneNamed as one, removeNamed } from "../invariants/mutation-target";
import { withGuardConfig, withoutGuardInstall, withoutMetadataFilter } from "../guest/install";

/** Custom data is base64 of the boot script. */
function editCustomData(vm: GraphNode, edit: (script: string) => string): void {
  const os = vm.inputs.osProfile;
  os.customData = Buffer.from(edit(Buffer.from(String(os.customData), "base64").toString("utf8")), "utf8").toString("base64");
}


const T = {
  subnet: "azure-native:network:Subnet",
  nsg: "azure-native:network:NetworkSecurityGroup",
  routeTable: "azure-native:network:RouteTable",
  nic: "azure-native:network:NetworkInterface",
  vm: "azure-native:compute:VirtualMachine",
  workflow: "azure-native:logic:Workflow",
  roleAssignment: "azure-native:authorization:RoleAssignment",
  uai: "azure-native:managedidentity:UserAssignedIdentity",
  resourceGroup: "azure-native:resources:ResourceGroup",
  worm: "azure-native:storage:BlobContainerImmutabilityPolicy",
};

/** Azure's built-in Contributor role (a control-plane grant over everything in its scope). */
const CONTRIBUTOR = "/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c";

/** An allow rule added inline to a role's NSG, as a component would write it. */
const allow = (g: ResourceGraph, role: string, rule: Record<string, unknown>) =>
  void one(g, T.nsg, `${role}-nsg`).inputs.securityRules.push({ priority: 300, direction: "Outbound", access: "Allow", sourceAddressPrefix: "*", sourcePortRange: "*", ...rule });

export const azureMutations: readonly MutationCase[] = [
  {
    kind: "default-route",
    stack: "azure",
    fails: "I1",
    // The blackhole 0.0.0.0/0 replaced by Azure's Internet next hop.
    mutate: (g) => void (one(g, T.routeTable, "workload-rt").inputs.routes = [{ name: "added-internet", addressPrefix: "0.0.0.0/0", nextHopType: "Internet" }]),
    finding: { resource: /-workload-rt$/, message: /route to 0\.0\.0\.0\/0 via Internet/ },
  },
  {
    kind: "open-egress",
    stack: "azure",
    fails: "I2",
    mutate: (g) => allow(g, "workload", { name: "added-open-egress", protocol: "Tcp", destinationAddressPrefix: "Internet", destinationPortRange: "443" }),
    finding: { resource: /-workload-nsg$/, message: /workload may open tcp\/443 to 0\.0\.0\.0\/0/ },
  },
  {
    kind: "all-protocols",
    stack: "azure",
    fails: "I2",
    // To the targets' subnet, which the gate may reach: only the protocol is wrong.
    mutate: (g) => allow(g, "gate", { name: "added-all-protocols", protocol: "*", destinationAddressPrefix: one(g, T.subnet, "targets-subnet").inputs.addressPrefix, destinationPortRange: "*" }),
    finding: { resource: /-gate-nsg$/, message: /gate allows every protocol and port/ },
  },
  {
    kind: "public-ip",
    stack: "azure",
    fails: "I1",
    mutate: (g) => void (one(g, T.nic, "workload-nic").inputs.ipConfigurations[0].publicIPAddress = { id: "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/publicIPAddresses/added" }),
    finding: { resource: /VirtualMachine::.*-workload$/, message: /NIC .*-workload-nic has a public IP/ },
  },
  {
    kind: "unlocked-retention",
    stack: "azure",
    fails: "I5",
    // The WORM policies stay, but nothing locks them: Azure's unlocked policy can be shortened or deleted.
    mutate: (g) => void g.remove((n) => n.type === T.workflow && n.name.endsWith("-sealer")),
    finding: { resource: /StorageAccount::/, message: /lock mode is governance/ },
  },
  {
    kind: "unlocked-artifacts",
    stack: "azure",
    fails: "I5",
    // The artifacts container's immutability policy removed: its blobs (what the gate and the guard install) can be overwritten or deleted.
    mutate: (g) => void removeNamed(g, T.worm, "record-artifacts-worm"),
    finding: { resource: /BlobContainer::.*-record-artifacts$/, message: /^the artifacts store \(installed files\) is not retention-locked$/ },
  },
  {
    kind: "ssh-keys",
    stack: "azure",
    fails: "I4",
    mutate: (g) => void one(g, T.vm, "workload").inputs.osProfile.linuxConfiguration.ssh.publicKeys.push({ path: "/home/azureuser/.ssh/authorized_keys", keyData: "ssh-ed25519 AAAA laptop" }),
    finding: { resource: /VirtualMachine::.*-workload$/, message: /SSH key handed to the instance \(1 SSH key\(s\) someone holds\)/ },
  },
  {
    kind: "identity-grant",
    stack: "azure",
    fails: "I4",
    mutate: (g) => {
      const vm = one(g, T.vm, "workload");
      const group = g.ofType(T.resourceGroup).find((r) => r.state.name === vm.inputs.resourceGroupName);
      if (!group) throw new Error("mutation: the workload's resource group is not in the graph");
      g.add({ type: T.roleAssignment, name: "added-contributor", id: "ra-added", inputs: { principalId: one(g, T.uai, "workload-id").state.principalId, roleDefinitionId: CONTRIBUTOR, scope: group.id } });
    },
    finding: { resource: /RoleAssignment::added-contributor$/, message: /built-in role .*b24988ac/ },
  },
  {
    kind: "missing-ttl",
    stack: "azure",
    fails: "I7",
    mutate: (g) => void g.remove((n) => n.type === T.workflow && n.name.endsWith("-reaper")),
    finding: { resource: /\(graph\)/, message: /no platform-enforced TTL/ },
  },
  {
    kind: "tee-dropped",
    stack: "azure-tee",
    fails: "I8",
    mutate: (g) => void (one(g, T.vm, "workload").inputs.securityProfile = { securityType: "TrustedLaunch", uefiSettings: { secureBootEnabled: true, vTpmEnabled: true } }),
    finding: { resource: /VirtualMachine::.*-workload$/, message: /asks for sev-snp, the machine has none/ },
  },
  {
    kind: "workload-in-gate-group",
    stack: "azure",
    fails: "I2",
    // The workload's NIC in the gate's NSG: it gets the gate's allows to targets and upstreams.
    mutate: (g) => void (one(g, T.nic, "workload-nic").inputs.networkSecurityGroup = { id: one(g, T.nsg, "gate-nsg").id }),
    finding: { resource: /-gate-nsg$/, message: /^workload may open / },
  },
  {
    kind: "workload-in-gate-subnet",
    stack: "azure",
    fails: "I1",
    mutate: (g) => void (one(g, T.nic, "workload-nic").inputs.ipConfigurations[0].subnet = { id: one(g, T.subnet, "gate-subnet").id }),
    finding: { resource: /VirtualMachine::.*-workload$/, message: /shares subnet .*-gate-subnet with the gate/ },
  },
  {
    kind: "workload-on-gate-routing",
    stack: "azure",
    fails: "I1",
    mutate: (g) => void (one(g, T.subnet, "workload-subnet").inputs.routeTable = { id: one(g, T.routeTable, "gate-rt").id }),
    finding: { resource: /VirtualMachine::.*-workload$/, message: /route table .*-gate-rt, which also routes the gate/ },
  },
  {
    kind: "guard-missing-rule",
    stack: "azure",
    fails: "I9",
    mutate: (g) => void editCustomData(one(g, T.vm, "workload"), (s) => withGuardConfig(s, (c) => ({ ...c, rules: c.rules.filter((r) => r.on !== "pids-limit") }))),
    finding: { resource: /VirtualMachine::.*-workload$/, message: /the guard lacks the kill rule 'pids-limit'/ },
  },
  {
    kind: "guard-no-metadata-filter",
    stack: "azure",
    fails: "I9",
    mutate: (g) => void editCustomData(one(g, T.vm, "workload"), (s) => withGuardConfig(s, withoutMetadataFilter)),
    finding: { resource: /VirtualMachine::.*-workload$/, message: /the guard has no metadata filter/ },
  },
  {
    kind: "guard-not-installed",
    stack: "azure",
    fails: "I9",
    mutate: (g) => void editCustomData(one(g, T.vm, "workload"), withoutGuardInstall),
    finding: { resource: /VirtualMachine::.*-workload$/, message: /the guard's install lacks the config/ },
  },
];
