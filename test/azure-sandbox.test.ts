// AzureSandbox under Pulumi mocks: the resource inputs that carry each guarantee, the refusals of
// invalid size / TEE / region / image combinations before anything is registered, and mutation tests —
// each unsafe variant of the real graph must fail the invariant it breaks.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { buildStackGraph, buildVariant, GraphRecorder, PROJECT_ROOT } from "./helpers/pulumi-mocks";
import { checkInvariants, InvariantId, ResourceGraph } from "../components/invariants";
import type { GraphNode } from "../components/invariants/graph";
import type { StackGraph } from "../components/invariants/mock-graph";
import { SpecError } from "../components/spec";
import { isAzureTaggable } from "../components/azure/taggable";

const T = {
  subnet: "azure-native:network:Subnet",
  nsg: "azure-native:network:NetworkSecurityGroup",
  rt: "azure-native:network:RouteTable",
  nic: "azure-native:network:NetworkInterface",
  vm: "azure-native:compute:VirtualMachine",
  account: "azure-native:storage:StorageAccount",
  worm: "azure-native:storage:BlobContainerImmutabilityPolicy",
  workflow: "azure-native:logic:Workflow",
  flowLog: "azure-native:network:FlowLog",
  dnsLink: "azure-native:dnsresolver:DnsResolverPolicyVirtualNetworkLink",
};

const byName = (g: ResourceGraph, type: string, suffix: string): GraphNode => {
  const found = g.nodes.filter((n) => n.type === type && n.name.endsWith(`-${suffix}`));
  assert.strictEqual(found.length, 1, `${type} *-${suffix}: ${found.map((n) => n.name)}`);
  return found[0];
};

function failsWith(stack: StackGraph, g: ResourceGraph, id: InvariantId, why: RegExp): void {
  const v = checkInvariants(g, stack.spec).find((x) => x.id === id)!;
  assert.strictEqual(v.status, "fail", `${id} should fail: ${JSON.stringify(v.findings)}`);
  assert.ok(v.findings.some((f) => !f.waived && why.test(f.message)), `${id}: no finding matching ${why}: ${JSON.stringify(v.findings, null, 1)}`);
}

describe("AzureSandbox (mocks)", function () {
  this.timeout(180_000);
  const stacks: Record<string, StackGraph> = {};
  before(async () => {
    stacks.azure = await buildStackGraph("azure");
    stacks["azure-tee"] = await buildStackGraph("azure-tee");
  });

  for (const name of ["azure", "azure-tee"]) {
    it(`${name}: every invariant passes`, () => {
      const verdicts = checkInvariants(stacks[name].graph, stacks[name].spec);
      assert.deepStrictEqual(verdicts.map((v) => [v.id, v.status]), ["I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8", "I9"].map((id) => [id, "pass"]), JSON.stringify(verdicts.filter((v) => v.status !== "pass"), null, 1));
      console.log(`      (${name}: ${stacks[name].graph.resources.length} resources, built in ${stacks[name].elapsedMs} ms)`);
    });
  }

  it("boundary: subnets without default outbound access, BGP off, a blackhole default route, no public IP", () => {
    const g = stacks.azure.graph;
    const subnets = g.ofType(T.subnet);
    assert.strictEqual(subnets.length, 4);
    for (const s of subnets) {
      assert.strictEqual(s.inputs.defaultOutboundAccess, false, s.name);
      const rt = g.byId(s.inputs.routeTable.id)!;
      assert.strictEqual(rt.inputs.disableBgpRoutePropagation, true);
      assert.deepStrictEqual(rt.inputs.routes.map((r: any) => [r.addressPrefix, r.nextHopType]), [["0.0.0.0/0", "None"]]);
      const nsg = g.byId(s.inputs.networkSecurityGroup.id)!;
      for (const dir of ["Inbound", "Outbound"]) {
        const denies = nsg.inputs.securityRules.filter((r: any) => r.direction === dir && r.access === "Deny").map((r: any) => [r.priority, dir === "Outbound" ? r.destinationAddressPrefix : r.sourceAddressPrefix]);
        assert.deepStrictEqual(denies, [[4094, "Internet"], [4095, "VirtualNetwork"], [4096, "*"]], `${nsg.name} ${dir}`);
      }
    }
    assert.strictEqual(g.ofType("azure-native:network:PublicIPAddress", "azure-native:network:NatGateway").length, 0);
    for (const nic of g.ofType(T.nic)) assert.ok(nic.inputs.ipConfigurations.every((c: any) => !c.publicIPAddress && c.privateIPAllocationMethod === "Static"));
  });

  it("workload NSG: out only to the gate's listener ports and the record endpoint on 443", () => {
    const g = stacks.azure.graph;
    const allows = byName(g, T.nsg, "workload-nsg").inputs.securityRules.filter((r: any) => r.access === "Allow");
    assert.deepStrictEqual(allows.map((r: any) => [r.direction, r.protocol, r.destinationAddressPrefix, r.destinationPortRange ?? r.destinationPortRanges]).sort(), [
      // The record's private endpoint: first fixed host of the endpoints subnet (third quarter of 10.77.0.0/16).
      ["Outbound", "Tcp", "10.77.128.10/32", "443"],
      ["Outbound", "Tcp", "10.77.64.10/32", ["443", "8080"]],
    ].sort());
  });

  it("VMs: user-assigned identity, no passwords, sealed key, no extensions, boot diagnostics to the record, encryption at host / Confidential VM", () => {
    for (const name of ["azure", "azure-tee"]) {
      const g = stacks[name].graph;
      const record = g.ofType(T.account)[0];
      for (const vm of g.ofType(T.vm)) {
        const os = vm.inputs.osProfile;
        assert.strictEqual(vm.inputs.identity.type, "UserAssigned");
        assert.strictEqual(os.linuxConfiguration.disablePasswordAuthentication, true);
        assert.strictEqual(os.adminPassword, undefined);
        assert.strictEqual(os.allowExtensionOperations, false);
        assert.match(os.linuxConfiguration.ssh.publicKeys[0].keyData, /^ssh-ed25519 [A-Za-z0-9+/=]{68} sealed-no-private-key$/);
        assert.strictEqual(vm.inputs.diagnosticsProfile.bootDiagnostics.storageUri, `https://${record.inputs.accountName}.blob.core.windows.net/`);
        const cvm = name === "azure-tee" && vm.name.endsWith("-workload");
        const sp = vm.inputs.securityProfile;
        assert.strictEqual(sp.securityType, cvm ? "ConfidentialVM" : "TrustedLaunch", vm.name);
        assert.deepStrictEqual(sp.uefiSettings, { secureBootEnabled: true, vTpmEnabled: true });
        assert.strictEqual(sp.encryptionAtHost, cvm ? undefined : true);
        if (cvm) {
          assert.strictEqual(vm.inputs.hardwareProfile.vmSize, "Standard_DC4as_v5");
          assert.strictEqual(vm.inputs.storageProfile.osDisk.managedDisk.securityProfile.securityEncryptionType, "DiskWithVMGuestState");
        }
      }
    }
  });

  it("record: private, keyless, TLS 1.2, versioned, WORM for the spec's days, sealed by a workflow; VNet flow logs into it", () => {
    const g = stacks.azure.graph;
    const acct = g.ofType(T.account)[0];
    assert.deepStrictEqual(
      [acct.inputs.publicNetworkAccess, acct.inputs.allowSharedKeyAccess, acct.inputs.allowBlobPublicAccess, acct.inputs.minimumTlsVersion, acct.inputs.networkRuleSet.defaultAction],
      ["Disabled", false, false, "TLS1_2", "Deny"],
    );
    const worms = g.ofType(T.worm);
    assert.deepStrictEqual(worms.map((w) => [w.inputs.containerName, w.inputs.immutabilityPeriodSinceCreationInDays]).sort(), [["artifacts", 90], ["canaries", 90], ["insights-logs-flowlogflowevent", 90], ["record", 90]]);
    const sealer = byName(g, T.workflow, "sealer");
    const posts = JSON.stringify(sealer.inputs.definition).match(/immutabilityPolicies\/default\/lock/g) ?? [];
    assert.strictEqual(posts.length, 4);
    const flow = g.ofType(T.flowLog)[0];
    assert.strictEqual(flow.inputs.targetResourceId, g.ofType("azure-native:network:VirtualNetwork")[0].id);
    assert.strictEqual(flow.inputs.storageId, acct.id);
  });

  it("TTL: the reaper deletes the sandbox group at the tagged expiry, from outside that group", () => {
    const g = stacks.azure.graph;
    const reaper = byName(g, T.workflow, "reaper");
    const vm = g.ofType(T.vm)[0];
    assert.strictEqual(reaper.inputs.definition.parameters.expiresAt.defaultValue, vm.inputs.tags["airlock:expires-at"]);
    assert.notStrictEqual(reaper.inputs.resourceGroupName, vm.inputs.resourceGroupName);
    assert.match(JSON.stringify(reaper.inputs.definition), new RegExp(`"method":"DELETE","uri":"https://management.azure.com/subscriptions/[^/]+/resourceGroups/${vm.inputs.resourceGroupName}\\?`));
  });

  it("labels: every taggable resource carries the three labels; the untaggable list matches the SDK", () => {
    const g = stacks.azure.graph;
    // Azure resources only: the expiry kept in state (components/expiry.ts) is a dynamic resource, not in the SDK.
    for (const n of g.resources.filter((r) => r.type.startsWith("azure-native:"))) {
      const [, module, cls] = n.type.split(":");
      const file = path.join(PROJECT_ROOT, "node_modules", "@pulumi", "azure-native", module, `${cls[0].toLowerCase()}${cls.slice(1)}.d.ts`);
      const dts = fs.readFileSync(file, "utf8");
      const start = dts.indexOf(`export interface ${cls}Args {`);
      const hasTags = /^    tags\?:/m.test(dts.slice(start, dts.indexOf("\n}", start)));
      assert.strictEqual(isAzureTaggable(n.type), hasTags, n.type);
      if (hasTags) for (const k of ["airlock:sandbox", "airlock:expires-at", "airlock:owner"]) assert.ok(n.inputs.tags?.[k], `${n.name} lacks ${k}`);
    }
  });

  describe("invalid combinations are refused before anything is registered", () => {
    const cases: [string, (d: any) => void, string, RegExp][] = [
      ["tdx on an AMD size", (d) => ((d.confidential = "tdx"), (d.region = "westeurope"), (d.workload.machineType = "Standard_DC4as_v5")), "workload.machineType", /DCesv5, DCedsv5, ECesv5, ECedsv5/],
      ["tdx in a region without TDX sizes", (d) => (d.confidential = "tdx"), "region", /eastus2 \| centralus \| westeurope/],
      ["sev-snp on a non-confidential size", (d) => (d.workload.machineType = "Standard_D4as_v5"), "workload.machineType", /DCasv5, DCadsv5, ECasv5, ECadsv5/],
      ["nitro-enclave on Azure", (d) => (d.confidential = "nitro-enclave"), "confidential", /none \| sev-snp \| tdx/],
      ["sev on Azure", (d) => (d.confidential = "sev"), "confidential", /none \| sev-snp \| tdx/],
      ["a non-confidential image for a Confidential VM", (d) => (d.workload.image = "Canonical:ubuntu-24_04-lts:server:latest"), "workload.image", /-cvm SKU/],
      ["an unknown endpoint service", (d) => (d.egress.allow[0].service = "bedrock-runtime"), "egress.allow[0].service", /openai/],
    ];
    for (const [what, change, field, valid] of cases) {
      it(what, async () => {
        const recorder = new GraphRecorder();
        await assert.rejects(buildVariant("azure-tee", change, recorder), (e: any) => {
          assert.ok(e instanceof SpecError, String(e));
          assert.strictEqual(e.issues.length, 1, JSON.stringify(e.issues));
          assert.strictEqual(e.issues[0].path, field);
          assert.match(e.issues[0].fix + e.issues[0].message, valid);
          return true;
        });
        assert.strictEqual(recorder.nodes.filter((n) => n.custom).length, 0);
      });
    }
  });

  describe("mutations fail their invariant", () => {
    const mutate = (stack: string, change: (g: ResourceGraph) => void) => {
      const g = stacks[stack].graph.clone();
      change(g);
      return g;
    };
    // The breakages every cloud has (internet route, open egress, all protocols, public IP, unlocked
    // retention, SSH keys, identity grant, TTL, TEE, and the three mis-wirings) are the conformance
    // table's: components/azure/mutations.ts, run by test/conformance.test.ts. These are Azure's own.
    const cases: [string, InvariantId, RegExp, (g: ResourceGraph) => void, string?][] = [
      ["system default route not overridden", "I1", /system default route/, (g) => (byName(g, T.rt, "workload-rt").inputs.routes = [])],
      ["default outbound access on", "I1", /defaultOutboundAccess/, (g) => (byName(g, T.subnet, "workload-subnet").inputs.defaultOutboundAccess = true)],
      ["no immutability policy", "I5", /not retention-locked/, (g) => g.remove((n) => n.type === T.worm)],
      ["no flow log", "I5", /no flow log/, (g) => g.remove((n) => n.type === T.flowLog)],
      ["password auth on", "I4", /password authentication on/, (g) => (byName(g, T.vm, "workload").inputs.osProfile.linuxConfiguration.disablePasswordAuthentication = false)],
      ["DNS policy removed", "I2", /DNS security policy/, (g) => g.remove((n) => n.type === T.dnsLink)],
      ["kill workflow removed", "I6", /kills the workload/, (g) => g.remove((n) => n.type === T.workflow && n.name.endsWith("-kill"))],
    ];
    for (const [what, id, why, change, stack = "azure"] of cases) it(`${what} -> ${id}`, () => failsWith(stacks[stack], mutate(stack, change), id, why));
  });
});
