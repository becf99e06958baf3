// AWS and GCP: the artifacts bucket (installed files and the canary objects) is locked like Azure's
// WORM artifacts and canaries containers (test/azure-worm.test.ts): AWS under S3 Object Lock with
// versioning, GCP under a retention policy, both for the spec's retention days in the spec's lock
// mode. Read from the resource inputs under mocks; lockMode none (the explicit opt-out) locks nothing.
import * as assert from "assert";
import { buildStackGraph, buildVariant, ofType, one } from "./helpers/pulumi-mocks";
import type { StackGraph } from "../components/invariants/mock-graph";
import type { GraphNode, ResourceGraph } from "../components/invariants/graph";
import { checkInvariants, formatVerdicts } from "../components/invariants";
import { descriptorOf } from "../components/backends";

const AWS = { bucket: "aws:s3/bucket:Bucket", lock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", versioning: "aws:s3/bucketVersioning:BucketVersioning", object: "aws:s3/bucketObjectv2:BucketObjectv2" };
const GCP = { bucket: "gcp:storage/bucket:Bucket", object: "gcp:storage/bucketObject:BucketObject" };
// Each stack built once for the whole file (the invariant block below reads the same graphs).
const builds = new Map<string, Promise<StackGraph>>();
const graphOf = (stack: string) => builds.get(stack) ?? builds.set(stack, buildStackGraph(stack)).get(stack)!;
const unlocked = (d: any) => ((d.logging = { ...(d.logging ?? {}), lockMode: "none" }), (d.unsafe = { ...(d.unsafe ?? {}), unlockedLogs: true }));

describe("AWS and GCP: the artifacts and canary store is locked", function () {
  this.timeout(300_000);

  const graphs: Record<string, StackGraph> = {};
  before(async () => {
    for (const stack of ["aws", "gcp"]) graphs[stack] = await graphOf(stack);
  });

  describe("aws", () => {
    it("the artifacts bucket has Object Lock on, versioning, and a default retention of the spec's days and mode; it is not force-destroyed", () => {
      const bucket = one(graphs.aws.graph, AWS.bucket, "artifacts");
      assert.strictEqual(bucket.inputs.objectLockEnabled, true);
      assert.notStrictEqual(bucket.inputs.forceDestroy, true);
      const versioning = ofType(graphs.aws.graph, AWS.versioning).find((v) => v.inputs.bucket === bucket.id);
      assert.strictEqual(versioning?.inputs.versioningConfiguration?.status, "Enabled");
      const lock = ofType(graphs.aws.graph, AWS.lock).find((l) => l.inputs.bucket === bucket.id);
      assert.ok(lock, "no Object Lock configuration on the artifacts bucket");
      assert.deepStrictEqual(lock.inputs.rule?.defaultRetention, { mode: graphs.aws.spec.logging.lockMode.toUpperCase(), days: graphs.aws.spec.logging.retentionDays });
    });
    it("lockMode none: no Object Lock (the explicit opt-out)", async () => {
      const g = await buildVariant("aws", unlocked);
      const bucket = one(g.graph, AWS.bucket, "artifacts");
      assert.strictEqual(bucket.inputs.objectLockEnabled, false);
      assert.ok(!ofType(g.graph, AWS.lock).some((l) => l.inputs.bucket === bucket.id));
    });
  });

  describe("gcp", () => {
    it("the artifacts bucket has a retention policy of the spec's days, locked in compliance mode; it is not force-destroyed", () => {
      const bucket = one(graphs.gcp.graph, GCP.bucket, "artifacts");
      assert.strictEqual(graphs.gcp.spec.logging.lockMode, "compliance", "the gcp stack is expected to lock in compliance mode");
      assert.deepStrictEqual(bucket.inputs.retentionPolicy, { retentionPeriod: String(graphs.gcp.spec.logging.retentionDays * 24 * 3600), isLocked: true });
      assert.notStrictEqual(bucket.inputs.forceDestroy, true);
    });
    it("lockMode none: no retention policy (the explicit opt-out)", async () => {
      const g = await buildVariant("gcp", unlocked);
      assert.strictEqual(one(g.graph, GCP.bucket, "artifacts").inputs.retentionPolicy, undefined);
    });
  });

  // What the lock protects: the canary objects and the installed files are in the locked bucket.
  const stores = [
    { stack: "aws", bucket: AWS.bucket, object: AWS.object, inBucket: (o: GraphNode, b: GraphNode) => o.inputs.bucket === b.id, key: (o: GraphNode) => String(o.inputs.key) },
    { stack: "gcp", bucket: GCP.bucket, object: GCP.object, inBucket: (o: GraphNode, b: GraphNode) => o.inputs.bucket === b.state.name, key: (o: GraphNode) => String(o.inputs.name) },
  ];
  for (const s of stores) {
    it(`${s.stack}: the canary objects and the installed files are in the artifacts bucket`, () => {
      const { graph } = graphs[s.stack];
      const bucket = one(graph, s.bucket, "artifacts");
      const keys = ofType(graph, s.object).filter((o) => s.inBucket(o, bucket)).map(s.key);
      assert.ok(keys.some((k) => k.startsWith("canaries/")), `no canary object in the artifacts bucket: ${keys.join(", ")}`);
      assert.ok(keys.includes("bin/toxiproxy-server"), `no installed file in the artifacts bucket: ${keys.join(", ")}`);
    });
  }
});

// I5 reads the same locks out of the graph (components/<cloud>/facts.ts artifactStores) on every VM
// cloud: the unmutated stacks pass, a weaker or shorter lock fails, and lockMode none is a named
// opt-out (waived by unsafe.unlockedLogs, never a plain pass). Removing the lock outright is each
// cloud's `unlocked-artifacts` case in the conformance table (test/conformance.test.ts).
describe("I5: the artifacts and canary store's lock, read from the graph", function () {
  this.timeout(300_000);
  const LOCKS = {
    aws: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    gcpBucket: GCP.bucket,
    azureWorm: "azure-native:storage:BlobContainerImmutabilityPolicy",
  };
  // Per cloud: the stores it must report, and how a component would write a shorter retention (7 days).
  const clouds = [
    { stack: "aws", holds: ["installed files and canaries"], shorten: (g: ResourceGraph) => void (one(g, LOCKS.aws, "artifacts-lock").inputs.rule.defaultRetention.days = 7), store: /Bucket::.*-artifacts$/ },
    { stack: "gcp", holds: ["installed files and canaries"], shorten: (g: ResourceGraph) => void (one(g, LOCKS.gcpBucket, "artifacts").inputs.retentionPolicy.retentionPeriod = String(7 * 86_400)), store: /Bucket::.*-artifacts$/ },
    { stack: "azure", holds: ["installed files", "canaries"], shorten: (g: ResourceGraph) => void (one(g, LOCKS.azureWorm, "record-artifacts-worm").inputs.immutabilityPeriodSinceCreationInDays = 7), store: /BlobContainer::.*-record-artifacts$/ },
  ];
  const built: Record<string, StackGraph> = {};
  before(async () => {
    for (const c of clouds) built[c.stack] = await graphOf(c.stack);
  });
  const i5 = (g: ResourceGraph, spec: StackGraph["spec"], stack: string) => checkInvariants(g, spec, descriptorOf(stack)!).find((v) => v.id === "I5")!;

  for (const c of clouds) {
    describe(c.stack, () => {
      it("the facts report each artifacts store locked in the spec's mode for the spec's days, and I5 passes", () => {
        const { graph, spec } = built[c.stack];
        const stores = descriptorOf(c.stack)!.facts!.artifactStores(graph);
        assert.deepStrictEqual(stores.map((s) => s.holds).sort(), [...c.holds].sort());
        for (const s of stores) assert.deepStrictEqual(s.lock, { mode: spec.logging.lockMode, days: spec.logging.retentionDays }, s.node.name);
        const v = i5(graph, spec, c.stack);
        assert.strictEqual(v.status, "pass", JSON.stringify(v.findings));
      });

      it("a retention shorter than the spec's fails I5 on the artifacts store", () => {
        const { graph, spec } = built[c.stack];
        const g = graph.clone();
        c.shorten(g);
        const v = i5(g, spec, c.stack);
        assert.strictEqual(v.status, "fail");
        assert.ok(v.findings.some((f) => !f.waived && c.store.test(f.resource) && new RegExp(`^the artifacts store .*: retention is 7 days; the spec asks for ${spec.logging.retentionDays}$`).test(f.message)), JSON.stringify(v.findings, null, 1));
      });

      it("lockMode none: I5 is waived by unsafe.unlockedLogs, the opt-out named in the verdict and in `airlock check`'s lines", async () => {
        const { graph, spec } = await buildVariant(c.stack, unlocked);
        const v = i5(graph, spec, c.stack);
        assert.notStrictEqual(v.status, "pass", "an opted-out lock is never a plain pass");
        assert.deepStrictEqual(v.waivedBy, ["unlockedLogs"]);
        // Every finding is the opt-out's: the record stays versioned without its lock (on GCP, Object
        // Versioning replaces the retention policy then).
        const others = v.findings.filter((f) => !(f.waived && f.waivableBy === "unlockedLogs"));
        assert.deepStrictEqual(others.map((f) => f.message), [], JSON.stringify(v.findings, null, 1));
        assert.strictEqual(v.status, "waived");
        assert.ok(v.findings.some((f) => f.resource === "(spec)" && /^logging\.lockMode is none: .*not retention-locked \(the explicit opt-out\)$/.test(f.message)));
        const unlockedStores = v.findings.filter((f) => c.store.test(f.resource) || /-record-canaries$/.test(f.resource));
        assert.strictEqual(unlockedStores.length, c.holds.length, JSON.stringify(v.findings, null, 1));
        const text = formatVerdicts([v]);
        assert.match(text, /^WAIVED I5 immutable record .*\(by unsafe\.unlockedLogs\)$/m);
        assert.match(text, /^\s+waived \(spec\): logging\.lockMode is none: .* \[unsafe\.unlockedLogs\]$/m);
        assert.match(text, /^\s+waived .*-artifacts: the artifacts store \(installed files.*\) is not retention-locked \[unsafe\.unlockedLogs\]$/m);
      });
    });
  }

  it("aws: a weaker mode (governance on a compliance spec) fails I5 on the artifacts bucket", () => {
    const { graph, spec } = built.aws;
    const g = graph.clone();
    one(g, LOCKS.aws, "artifacts-lock").inputs.rule.defaultRetention.mode = "GOVERNANCE";
    const v = i5(g, spec, "aws");
    assert.ok(v.findings.some((f) => !f.waived && /Bucket::.*-artifacts$/.test(f.resource) && /lock mode is governance; the spec asks for compliance/.test(f.message)), JSON.stringify(v.findings, null, 1));
  });

  it("gcp: an unlocked retention policy (governance) on a compliance spec fails I5 on the artifacts bucket", () => {
    const { graph, spec } = built.gcp;
    const g = graph.clone();
    one(g, LOCKS.gcpBucket, "artifacts").inputs.retentionPolicy.isLocked = false;
    const v = i5(g, spec, "gcp");
    assert.ok(v.findings.some((f) => !f.waived && /Bucket::.*-artifacts$/.test(f.resource) && /lock mode is governance; the spec asks for compliance/.test(f.message)), JSON.stringify(v.findings, null, 1));
  });

  it("an artifacts store the facts cannot find is a finding, not a pass (aws: the bucket's role tag lost)", () => {
    const { graph, spec } = built.aws;
    const g = graph.clone();
    one(g, AWS.bucket, "artifacts").inputs.tags["airlock:role"] = "something-else";
    const v = i5(g, spec, "aws");
    assert.ok(v.findings.some((f) => !f.waived && f.resource === "(graph)" && /no artifacts store is found/.test(f.message)), JSON.stringify(v.findings, null, 1));
  });

  it("kubernetes: no artifacts store (not applicable: facts.ts artifactStores says why), and I5 asks for none", async () => {
    const { graph, spec } = await graphOf("k8s");
    assert.deepStrictEqual(descriptorOf("kubernetes")!.facts!.artifactStores(graph), []);
    const v = i5(graph, spec, "kubernetes");
    assert.strictEqual(v.status, "pass", JSON.stringify(v.findings));
  });
});
