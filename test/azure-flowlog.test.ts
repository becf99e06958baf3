// Azure's VNet flow log sits in NetworkWatcherRG (where Azure keeps the region's one Network Watcher,
// shared, not the sandbox's), so it is outside the sandbox group the reaper deletes. These tests read
// the resource inputs: the flow log carries the sandbox's own tags and name, and the reaper deletes it
// at the expiry — before the sandbox group, with a grant on that one flow log and nothing else.
import * as assert from "assert";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { buildStackGraph, ofType, one, PROJECT_ROOT } from "./helpers/pulumi-mocks";
import { buildGraph, readStackConfig, type StackGraph } from "../components/invariants/mock-graph";
import { stackFile } from "../components/spec";

const T = {
  flowLog: "azure-native:network:FlowLog",
  vnet: "azure-native:network:VirtualNetwork",
  workflow: "azure-native:logic:Workflow",
  roleDef: "azure-native:authorization:RoleDefinition",
  assignment: "azure-native:authorization:RoleAssignment",
  uai: "azure-native:managedidentity:UserAssignedIdentity",
};

describe("Azure flow log: in NetworkWatcherRG, but the sandbox's in name, tags and lifetime", function () {
  this.timeout(300_000);
  let built: StackGraph;
  before(async () => {
    built = await buildStackGraph("azure");
  });

  it("is a child of the region's Network Watcher in NetworkWatcherRG, named from the sandbox, with the sandbox's three tags", () => {
    const [flow] = ofType(built.graph, T.flowLog);
    const vnet = ofType(built.graph, T.vnet)[0];
    assert.strictEqual(flow.inputs.resourceGroupName, "NetworkWatcherRG");
    assert.strictEqual(flow.inputs.networkWatcherName, `NetworkWatcher_${built.spec.region}`);
    assert.notStrictEqual(vnet.inputs.resourceGroupName, "NetworkWatcherRG", "the VNet is the sandbox group's");
    for (const k of ["airlock:sandbox", "airlock:expires-at", "airlock:owner"]) assert.strictEqual(flow.inputs.tags?.[k], vnet.inputs.tags?.[k], `${k} on the flow log`);
    assert.ok(!/airlock|redteam/.test(flow.inputs.flowLogName), `the name is neutral like every physical name: ${flow.inputs.flowLogName}`);
    assert.strictEqual(ofType(built.graph, T.flowLog).length, 1);
  });

  it("the reaper deletes the flow log at the expiry, then the sandbox group after either outcome", () => {
    const flow = ofType(built.graph, T.flowLog)[0];
    const reaper = one(built.graph, T.workflow, "reaper");
    const actions = reaper.inputs.definition.actions.decide.actions;
    assert.strictEqual(actions.delete_flow_log.inputs.method, "DELETE");
    assert.ok(String(actions.delete_flow_log.inputs.uri).startsWith(`https://management.azure.com${flow.id}?`), actions.delete_flow_log.inputs.uri);
    assert.deepStrictEqual(actions.delete_sandbox.runAfter, { delete_flow_log: ["Succeeded", "Failed"] });
    assert.strictEqual(actions.delete_sandbox.inputs.method, "DELETE");
  });

  it("the reaper's only right outside the sandbox group: delete on this one flow log", () => {
    const flow = ofType(built.graph, T.flowLog)[0];
    const grant = one(built.graph, T.assignment, "reaper-flows-grant");
    assert.strictEqual(grant.inputs.scope, flow.id);
    const role = ofType(built.graph, T.roleDef).find((r) => r.id === grant.inputs.roleDefinitionId || r.state?.id === grant.inputs.roleDefinitionId)!;
    assert.ok(role, "the grant's role definition");
    assert.deepStrictEqual(role.inputs.permissions, [{ actions: ["Microsoft.Network/networkWatchers/flowLogs/delete"], dataActions: [] }]);
    const reaperIdentity = one(built.graph, T.uai, "reaper-id");
    assert.strictEqual(grant.inputs.principalId, reaperIdentity.state.principalId);
  });

  it("`pulumi destroy` deletes it: registered without retainOnDelete or protect (unlike the record it writes to)", async () => {
    const seen: Record<string, pulumi.CustomResourceOptions> = {};
    const entry = require.resolve(path.join(PROJECT_ROOT, "index.ts"));
    await buildGraph(
      async () => {
        pulumi.runtime.registerStackTransformation((a) => {
          if (a.type === T.flowLog || a.type === "azure-native:storage:StorageAccount") seen[a.type] = a.opts;
          return undefined;
        });
        delete require.cache[entry];
        return { ...require(entry) };
      },
      { project: "airlock", stack: "azure", config: readStackConfig(stackFile("azure")), region: built.spec.region },
    );
    assert.ok(seen[T.flowLog], "the flow log was registered");
    assert.ok(!seen[T.flowLog].retainOnDelete && !seen[T.flowLog].protect, JSON.stringify({ retainOnDelete: seen[T.flowLog].retainOnDelete, protect: seen[T.flowLog].protect }));
    // The control: the record account is retained on destroy, and the transformation sees that.
    assert.strictEqual(seen["azure-native:storage:StorageAccount"]?.retainOnDelete, true);
  });
});
