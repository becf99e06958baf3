// The facts that read an output no preview has (a GCP service account's email, an Azure storage
// account's name, an identity's principalId) read, at a preview, the inputs that decide it, or match a
// reference to the resource it names — and stay fail-closed where nothing decides. test/policy.test.ts
// runs the conformance cases at a preview through the harness; these build the shapes the harness
// does not: a literal email where the stack writes one, references where the harness sees a literal
// name (the real engine sends `accountName: account.name` as unknown, with the account as its
// dependency), and a component's definition as the engine receives it when identities' ids are unknown.
import * as assert from "assert";
import type { PolicyResource } from "@pulumi/policy";
import { buildStackGraph, one } from "./helpers/pulumi-mocks";
import { engineResources, runPolicies, Violation } from "./helpers/policy-harness";
import { POLICY_NAMES } from "../policy/policies";
import { buildConfigGraph, readStackConfig } from "../components/invariants/mock-graph";
import { stackFile } from "../components/spec";
import { azureMocks } from "../components/azure/mocks";
import type { ResourceGraph } from "../components/invariants/graph";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const UNKNOWN_STRING: string = require("@pulumi/policy/proxy").unknownStringValue;
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { isUnknown } = require("@pulumi/pulumi/output");

const I2 = POLICY_NAMES.I2;
const I5 = POLICY_NAMES.I5;
const byName = (rs: PolicyResource[], type: string, suffix: string) => {
  const found = rs.filter((r) => r.type === type && r.name.endsWith(`-${suffix}`));
  assert.strictEqual(found.length, 1, `one ${type} *-${suffix}: ${found.map((r) => r.name)}`);
  return found[0];
};
const messages = (vs: Violation[], policy: string) => vs.filter((v) => v.policy === policy && v.level === "mandatory").map((v) => v.message);

describe("policy pack at a preview: facts read the inputs that decide an output", function () {
  this.timeout(300_000);

  describe("GCP: a service account named by its email before the account exists", () => {
    const ACCOUNT = "gcp:serviceaccount/account:Account";
    const INSTANCE = "gcp:compute/instance:Instance";
    const PROJECT = "frontier-evals-sandbox"; // stacks/Pulumi.gcp.yaml's gcp:project

    /** The gcp stack at a preview with the workload naming the gate's account by a literal email (no reference, as a hand-written stack would). */
    async function workloadNamesGateByLiteral(accountProject: string | undefined): Promise<Violation[]> {
      const g: ResourceGraph = (await buildStackGraph("gcp")).graph.clone();
      for (const a of g.ofType(ACCOUNT)) if (accountProject) a.inputs.project = accountProject;
      const gate = one(g, ACCOUNT, "gate-sa");
      const resources = engineResources(g, "preview");
      const workload = byName(resources, INSTANCE, "workload");
      // Google IAM names a user-managed account <accountId>@<project>.iam.gserviceaccount.com.
      (workload.props as any).serviceAccount.email = `${gate.inputs.accountId}@${PROJECT}.iam.gserviceaccount.com`;
      delete (workload.propertyDependencies as any).serviceAccount; // a literal depends on nothing
      return runPolicies(resources);
    }

    it("the account's accountId and project decide its email: the workload given the gate's is caught at the preview", async () => {
      const i2 = messages(await workloadNamesGateByLiteral(PROJECT), I2);
      assert.ok(i2.some((m) => /-fw-gate-to-targets: workload may open tcp\/8080 to the target/.test(m)), i2.join("\n"));
    });

    it("with the account's project not known (no input: the provider's), nothing decides the email: the workload is in no group, and the preview fails closed", async () => {
      const i2 = messages(await workloadNamesGateByLiteral(undefined), I2);
      assert.ok(!i2.some((m) => /workload may open/.test(m)), i2.join("\n"));
      // Whom the workload's own allows apply to is undecided: reported (mandatory), not passed.
      assert.ok(i2.some((m) => /-fw-workload-to-gate: unknown may open tcp\/443,8080,9443 to the gate/.test(m)), `expected the workload's rule reported fail-closed:\n${i2.join("\n")}`);
      const control = messages(await runPolicies(engineResources((await buildStackGraph("gcp")).graph, "preview")), I2);
      assert.deepStrictEqual(control, [], "the unmutated gcp preview has no I2 violation");
    });
  });

  describe("Azure: names and principals as the engine sends them at a preview (references, unknown)", () => {
    const ACCOUNT = "azure-native:storage:StorageAccount";
    const CONTAINER = "azure-native:storage:BlobContainer";
    const WORM = "azure-native:storage:BlobContainerImmutabilityPolicy";
    const SERVICE = "azure-native:storage:BlobServiceProperties";
    const ASSIGNMENT = "azure-native:authorization:RoleAssignment";

    /** `prop` of `r` made what the engine sends for `prop: target.<output>`: unknown, depending on `target`. */
    function asReference(r: PolicyResource, prop: string, target: PolicyResource) {
      (r.props as any)[prop] = UNKNOWN_STRING;
      (r.propertyDependencies as any)[prop] = [target];
    }

    /** The azure stack at a preview, every storage name and principal passed as a reference (record.ts, identity.ts write them so). */
    async function engineShaped(mutate?: (g: ResourceGraph) => void): Promise<{ resources: PolicyResource[]; violations: Violation[] }> {
      const g = (await buildStackGraph("azure")).graph.clone();
      mutate?.(g);
      const resources = engineResources(g, "preview");
      const account = byName(resources, ACCOUNT, "record");
      for (const r of resources.filter((x) => [CONTAINER, WORM, SERVICE].includes(x.type))) asReference(r, "accountName", account);
      for (const w of resources.filter((x) => x.type === WORM)) {
        const container = resources.find((c) => c.type === CONTAINER && (c.props as any).containerName === (w.props as any).containerName)!;
        asReference(w, "containerName", container);
      }
      return { resources, violations: await runPolicies(resources) };
    }

    it("the unmutated stack: every container, WORM policy and the sealer's grant matched to the record account — no I5 violation at the preview", async () => {
      const { resources, violations } = await engineShaped();
      // The shape is the engine's: references, not literal names or GUIDs.
      assert.ok(resources.filter((r) => r.type === CONTAINER).every((r) => (r.props as any).accountName === UNKNOWN_STRING));
      assert.ok(resources.filter((r) => r.type === ASSIGNMENT).every((r) => (r.props as any).principalId === UNKNOWN_STRING), "principalIds are references (the harness blanks GUID outputs)");
      assert.deepStrictEqual(messages(violations, I5), []);
    });

    it("the artifacts container's immutability policy removed: caught at the preview", async () => {
      const { violations } = await engineShaped((g) => void g.remove((n) => n.type === WORM && n.name.endsWith("-record-artifacts-worm")));
      const i5 = messages(violations, I5);
      assert.ok(i5.some((m) => /BlobContainer::.*-record-artifacts: the artifacts store \(installed files\) is not retention-locked/.test(m)), i5.join("\n"));
    });

    it("the sealer removed: the record's lock is governance at the preview", async () => {
      const { violations } = await engineShaped((g) => void g.remove((n) => n.type === "azure-native:logic:Workflow" && n.name.endsWith("-sealer")));
      const i5 = messages(violations, I5);
      assert.ok(i5.some((m) => /StorageAccount::.*-record: the log store: lock mode is governance/.test(m)), i5.join("\n"));
    });

    it("the sealer's grant on another account (a reference to a resource that is not the record's): not counted, governance", async () => {
      const { violations } = await engineShaped((g) => {
        const other = g.add({ type: ACCOUNT, name: "airlock-other-account", id: "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/otheraccount", inputs: { accountName: "otheraccount" } });
        const grant = g.find((n) => n.type === ASSIGNMENT && n.name.endsWith("-sealer-grant"))!;
        grant.inputs.scope = other.id;
      });
      const i5 = messages(violations, I5);
      assert.ok(i5.some((m) => /StorageAccount::.*-record: the log store: lock mode is governance/.test(m)), i5.join("\n"));
    });
  });

  it("Azure record.ts: the sealer's definition reaches the engine with only its identity unknown, its lock calls readable", async () => {
    // Identities' ids unknown, as at the preview that creates them (a mock id "" is the engine's unknown).
    const seen: Record<string, any>[] = [];
    const mocks = [
      {
        ...azureMocks,
        newResource(type: string, name: string, inputs: Record<string, any>, ctx: any) {
          const r = azureMocks.newResource(type, name, inputs, ctx);
          if (type === "azure-native:logic:Workflow" && name.endsWith("-sealer")) seen.push(inputs);
          return type === "azure-native:managedidentity:UserAssignedIdentity" ? { ...r, id: "" } : r;
        },
      },
    ];
    await buildConfigGraph("azure", readStackConfig(stackFile("azure")), { preview: true, mocks });
    assert.strictEqual(seen.length, 1, "the azure stack has one sealer");
    const def = seen[0].definition;
    assert.ok(def && !isUnknown(def) && typeof def === "object", `the definition is unknown whole: ${String(def)}`);
    const locks = Object.values<any>(def.actions).flatMap((a) => Object.values<any>(a.actions ?? {})).filter((a) => a.inputs?.method === "POST");
    assert.strictEqual(locks.length, 4, JSON.stringify(def.actions).slice(0, 500));
    for (const l of locks) {
      assert.match(l.inputs.uri, /\/storageAccounts\/[a-z0-9]+\/blobServices\/default\/containers\/[^/]+\/immutabilityPolicies\/default\/lock\?/);
      assert.ok(isUnknown(l.inputs.authentication.identity), "the identity's id is the one unknown leaf");
    }
  });
});
