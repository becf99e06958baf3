// AWS and GCP: the artifacts bucket (installed files and the canary objects) is locked like Azure's
// WORM artifacts and canaries containers (test/azure-worm.test.ts): AWS under S3 Object Lock with
// versioning, GCP under a retention policy, both for the spec's retention days in the spec's lock
// mode. Read from the resource inputs under mocks; lockMode none (the explicit opt-out) locks nothing.
import * as assert from "assert";
import { buildStackGraph, buildVariant, ofType, one } from "./helpers/pulumi-mocks";
import type { StackGraph } from "../components/invariants/mock-graph";

const AWS = { bucket: "aws:s3/bucket:Bucket", lock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", versioning: "aws:s3/bucketVersioning:BucketVersioning", object: "aws:s3/bucketObjectv2:BucketObjectv2" };
const GCP = { bucket: "gcp:storage/bucket:Bucket", object: "gcp:storage/bucketObject:BucketObject" };
const unlocked = (d: any) => ((d.logging = { ...(d.logging ?? {}), lockMode: "none" }), (d.unsafe = { ...(d.unsafe ?? {}), unlockedLogs: true }));

describe("AWS and GCP: the artifacts and canary store is locked", function () {
  this.timeout(300_000);

  describe("aws", () => {
    let built: StackGraph;
    before(async () => {
      built = await buildStackGraph("aws");
    });
    it("the artifacts bucket has Object Lock on, versioning, and a default retention of the spec's days and mode; it is not force-destroyed", () => {
      const bucket = one(built.graph, AWS.bucket, "artifacts");
      assert.strictEqual(bucket.inputs.objectLockEnabled, true);
      assert.notStrictEqual(bucket.inputs.forceDestroy, true);
      const versioning = ofType(built.graph, AWS.versioning).find((v) => v.inputs.bucket === bucket.id);
      assert.strictEqual(versioning?.inputs.versioningConfiguration?.status, "Enabled");
      const lock = ofType(built.graph, AWS.lock).find((l) => l.inputs.bucket === bucket.id);
      assert.ok(lock, "no Object Lock configuration on the artifacts bucket");
      assert.deepStrictEqual(lock.inputs.rule?.defaultRetention, { mode: built.spec.logging.lockMode.toUpperCase(), days: built.spec.logging.retentionDays });
    });
    it("the canary objects and the installed files are in that bucket", () => {
      const bucket = one(built.graph, AWS.bucket, "artifacts");
      const keys = ofType(built.graph, AWS.object).filter((o) => o.inputs.bucket === bucket.id).map((o) => String(o.inputs.key));
      assert.ok(keys.some((k) => k.startsWith("canaries/")), `no canary object in the artifacts bucket: ${keys.join(", ")}`);
      assert.ok(keys.includes("bin/toxiproxy-server"), `no installed file in the artifacts bucket: ${keys.join(", ")}`);
    });
    it("lockMode none: no Object Lock (the explicit opt-out)", async () => {
      const g = await buildVariant("aws", unlocked);
      const bucket = one(g.graph, AWS.bucket, "artifacts");
      assert.strictEqual(bucket.inputs.objectLockEnabled, false);
      assert.ok(!ofType(g.graph, AWS.lock).some((l) => l.inputs.bucket === bucket.id));
    });
  });

  describe("gcp", () => {
    let built: StackGraph;
    before(async () => {
      built = await buildStackGraph("gcp");
    });
    it("the artifacts bucket has a retention policy of the spec's days, locked in compliance mode; it is not force-destroyed", () => {
      const bucket = one(built.graph, GCP.bucket, "artifacts");
      assert.strictEqual(built.spec.logging.lockMode, "compliance", "the gcp stack is expected to lock in compliance mode");
      assert.deepStrictEqual(bucket.inputs.retentionPolicy, { retentionPeriod: String(built.spec.logging.retentionDays * 24 * 3600), isLocked: true });
      assert.notStrictEqual(bucket.inputs.forceDestroy, true);
    });
    it("the canary objects and the installed files are in that bucket", () => {
      const bucket = one(built.graph, GCP.bucket, "artifacts");
      const names = ofType(built.graph, GCP.object).filter((o) => o.inputs.bucket === bucket.state.name).map((o) => String(o.inputs.name));
      assert.ok(names.some((k) => k.startsWith("canaries/")), `no canary object in the artifacts bucket: ${names.join(", ")}`);
      assert.ok(names.includes("bin/toxiproxy-server"), `no installed file in the artifacts bucket: ${names.join(", ")}`);
    });
    it("lockMode none: no retention policy (the explicit opt-out)", async () => {
      const g = await buildVariant("gcp", unlocked);
      assert.strictEqual(one(g.graph, GCP.bucket, "artifacts").inputs.retentionPolicy, undefined);
    });
  });
});
