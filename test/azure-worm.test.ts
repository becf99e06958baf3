// Azure: the canary and artifact containers are WORM like the record (AWS and GCP keep their records
// under Object Lock / a locked retention): each has a time-based immutability policy of the spec's
// retention that the sealer locks in compliance mode, and version-level immutability, so a re-deploy
// that uploads a new artifact adds a version instead of being refused. Read from the resource inputs.
import * as assert from "assert";
import { buildStackGraph, buildVariant, ofType, one } from "./helpers/pulumi-mocks";
import type { StackGraph } from "../components/invariants/mock-graph";

const T = { container: "azure-native:storage:BlobContainer", worm: "azure-native:storage:BlobContainerImmutabilityPolicy", workflow: "azure-native:logic:Workflow", blob: "azure-native:storage:Blob" };

describe("Azure: canary and artifact containers are WORM", function () {
  this.timeout(300_000);
  let built: StackGraph;
  before(async () => {
    built = await buildStackGraph("azure");
  });

  for (const name of ["canaries", "artifacts"]) {
    it(`${name}: version-level immutability, a policy of the spec's retention with no protected writes, locked by the sealer`, () => {
      const c = ofType(built.graph, T.container).find((n) => n.inputs.containerName === name)!;
      assert.deepStrictEqual(c.inputs.immutableStorageWithVersioning, { enabled: true });
      const policy = ofType(built.graph, T.worm).find((p) => p.inputs.containerName === name)!;
      assert.ok(policy, `no immutability policy on ${name}`);
      assert.strictEqual(policy.inputs.immutabilityPeriodSinceCreationInDays, built.spec.logging.retentionDays);
      assert.strictEqual(policy.inputs.allowProtectedAppendWrites, false);
      const sealer = one(built.graph, T.workflow, "sealer");
      assert.match(JSON.stringify(sealer.inputs.definition), new RegExp(`/containers/${name}/immutabilityPolicies/default/lock`));
    });
  }

  it("the record and flow-log containers keep their container-level policies (no version-level change under them)", () => {
    for (const name of ["record", "insights-logs-flowlogflowevent"]) {
      const c = ofType(built.graph, T.container).find((n) => n.inputs.containerName === name)!;
      assert.strictEqual(c.inputs.immutableStorageWithVersioning, undefined, name);
      assert.ok(ofType(built.graph, T.worm).some((p) => p.inputs.containerName === name), name);
    }
  });

  it("lockMode none: no policy and no version-level immutability anywhere (the explicit opt-out)", async () => {
    const g = await buildVariant("azure", (d) => ((d.logging = { ...(d.logging ?? {}) }), (d.logging.lockMode = "none"), (d.unsafe = { ...(d.unsafe ?? {}), unlockedLogs: true })));
    assert.deepStrictEqual(ofType(g.graph, T.worm), []);
    assert.ok(ofType(g.graph, T.container).every((c) => c.inputs.immutableStorageWithVersioning === undefined));
  });
});
