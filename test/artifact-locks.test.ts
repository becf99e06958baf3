// AWS and GCP: the artifacts bucket (installed files and the canary objects) is locked like Azure's
// WORM artifacts and canaries containers (test/azure-worm.test.ts): AWS under S3 Object Lock with
// versioning, GCP under a retention policy, both for the spec's retention days in the spec's lock
// mode. Read from the resource inputs under mocks; lockMode none (the explicit opt-out) locks nothing.
import * as assert from "assert";
import { buildStackGraph, buildVariant, ofType, one } from "./helpers/pulumi-mocks";
import type { StackGraph } from "../components/invariants/mock-graph";
import type { GraphNode } from "../components/invariants/graph";

const AWS = { bucket: "aws:s3/bucket:Bucket", lock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", versioning: "aws:s3/bucketVersioning:BucketVersioning", object: "aws:s3/bucketObjectv2:BucketObjectv2" };
const GCP = { bucket: "gcp:storage/bucket:Bucket", object: "gcp:storage/bucketObject:BucketObject" };
const unlocked = (d: any) => ((d.logging = { ...(d.logging ?? {}), lockMode: "none" }), (d.unsafe = { ...(d.unsafe ?? {}), unlockedLogs: true }));

describe("AWS and GCP: the artifacts and canary store is locked", function () {
  this.timeout(300_000);

  const graphs: Record<string, StackGraph> = {};
  before(async () => {
    for (const stack of ["aws", "gcp"]) graphs[stack] = await buildStackGraph(stack);
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
