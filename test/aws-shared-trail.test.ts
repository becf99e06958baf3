// AWS defect 5 of issue 8: one multi-region trail per sandbox hit CloudTrail's hard quota (5 trails per
// region, not raisable) — the fifth concurrent sandbox failed to deploy. Now the account program
// (accounts/aws/) creates one trail; every sandbox adopts it (checked at preview), and its own EventBridge rules match only
// itself. Resource inputs read under Pulumi mocks; the event matching below is this test's own.
import * as assert from "assert";
import { GraphRecorder, stackSpecDoc } from "./helpers/pulumi-mocks";
import type { GraphNode, ResourceGraph } from "../components/invariants/graph";

const T = {
  trail: "aws:cloudtrail/trail:Trail",
  adopted: "airlock:aws:AdoptedTrail",
  rule: "aws:cloudwatch/eventRule:EventRule",
  bucket: "aws:s3/bucket:Bucket",
  object: "aws:s3/bucketObjectv2:BucketObjectv2",
  accessKey: "aws:iam/accessKey:AccessKey",
  role: "aws:iam/role:Role",
  lock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
};
const CC_GET = "aws:cloudcontrol/getResource:getResource";
const SANDBOXES = 6;

const ofType = (g: ResourceGraph, type: string) => g.nodes.filter((n) => n.type === type);
const under = (g: ResourceGraph, n: GraphNode, sandbox: string) => n.name.startsWith(`airlock-${sandbox}-`) || n.name.startsWith(`${sandbox}-`);

/**
 * EventBridge's matching for the pattern features the rules use (EventBridge User Guide, "Event
 * patterns": arrays of alternatives, `{prefix}`, `$or`, nested objects), written here independently.
 */
function matches(pattern: any, event: any): boolean {
  return Object.entries(pattern).every(([k, want]) => {
    if (k === "$or") return (want as any[]).some((alt) => matches(alt, event));
    const got = event?.[k];
    if (Array.isArray(want)) return want.some((w) => (typeof w === "object" && w !== null && "prefix" in w ? typeof got === "string" && got.startsWith(w.prefix) : got === w));
    return typeof want === "object" && want !== null && matches(want, got);
  });
}

/** A CloudTrail record of GetObject on `bucket/key` by a session of `roleArn`, as EventBridge delivers it. */
function getObjectEvent(bucket: string, key: string, roleArn: string) {
  return {
    "detail-type": "AWS API Call via CloudTrail",
    source: "aws.s3",
    detail: { eventSource: "s3.amazonaws.com", eventName: "GetObject", requestParameters: { bucketName: bucket, key }, userIdentity: { type: "AssumedRole", sessionContext: { sessionIssuer: { arn: roleArn } } } },
  };
}
function keyUseEvent(accessKeyId: string) {
  return { "detail-type": "AWS API Call via CloudTrail", source: "aws.sts", detail: { eventSource: "sts.amazonaws.com", eventName: "GetCallerIdentity", userIdentity: { type: "IAMUser", accessKeyId } } };
}

/** Builds one program with the account trail (optional) and `names` sandboxes from stack aws's spec. */
async function buildProgram(names: string[], opts: { account?: boolean; mocks?: import("../components/aws/mocks").MockAccountImages; config?: Record<string, string>; recorder?: GraphRecorder } = {}) {
  const { buildGraph } = await import("../components/invariants/mock-graph");
  const { awsAccountMocks } = await import("../components/aws/mocks");
  const { parseSpec } = await import("../components/spec");
  const { identityFor } = await import("../components/naming");
  const { AwsSandbox } = await import("../components/aws/component");
  const { AwsAccountTrail } = await import("../components/aws/account-trail");
  const base = stackSpecDoc("aws");
  return buildGraph(
    async () => {
      if (opts.account) new AwsAccountTrail("airlock-account", { region: "us-east-2" });
      for (const name of names) {
        const spec = parseSpec({ ...base, name }, `test sandbox ${name}`);
        new AwsSandbox(name, { spec, identity: identityFor(spec, { uniqueSuffix: "t0", now: new Date("2026-12-03T12:00:00Z") }) });
      }
    },
    { stack: "shared-trail", config: { "aws:region": "us-east-2", ...opts.config }, region: "us-east-2", recorder: opts.recorder, mocks: [awsAccountMocks(opts.mocks ?? {})] },
  );
}

describe("AWS defect 5: one account trail, per-sandbox rules (issue 8)", function () {
  this.timeout(120_000);
  const names = Array.from({ length: SANDBOXES }, (_, i) => `eval-${i}`);
  let g: ResourceGraph;
  before(async () => {
    g = (await buildProgram(names, { account: true })).graph;
  });

  it(`${SANDBOXES} sandboxes and the account program in one program create exactly 1 trail; each sandbox adopts it, none creates one`, () => {
    const trails = ofType(g, T.trail);
    assert.deepStrictEqual(trails.map((t) => t.name), ["airlock-account-trail"], "only the account program creates a trail");
    const adopted = ofType(g, T.adopted);
    assert.strictEqual(adopted.length, SANDBOXES, "one adoption per sandbox");
    for (const a of adopted) {
      assert.strictEqual(a.inputs.arn, trails[0].state.arn, `${a.name} found the account trail`);
      assert.deepStrictEqual(a.inputs.advancedEventSelectors, JSON.parse(JSON.stringify(trails[0].inputs.advancedEventSelectors)), `${a.name} keeps what it found`);
    }
  });

  it("the account trail is multi-region, logs all management events and S3 object data events on every sandbox's canary store", () => {
    const [trail] = ofType(g, T.trail);
    assert.strictEqual(trail.inputs.isMultiRegionTrail, true);
    assert.strictEqual(trail.inputs.includeGlobalServiceEvents, true);
    const sel = trail.inputs.advancedEventSelectors as any[];
    const mgmt = sel.filter((s) => s.fieldSelectors.some((f: any) => f.field === "eventCategory" && f.equals.includes("Management")));
    assert.deepStrictEqual(mgmt.map((s) => s.fieldSelectors), [[{ field: "eventCategory", equals: ["Management"] }]], "management events, read-only included");
    const data = sel.find((s) => s.fieldSelectors.some((f: any) => f.field === "eventCategory" && f.equals.includes("Data")));
    const prefixes: string[] = data.fieldSelectors.find((f: any) => f.field === "resources.ARN").startsWiths;
    assert.deepStrictEqual(data.fieldSelectors.find((f: any) => f.field === "resources.type").equals, ["AWS::S3::Object"]);
    const canaryObjects = ofType(g, T.object).filter((o) => o.inputs.key.startsWith("canaries/"));
    assert.strictEqual(canaryObjects.length, SANDBOXES * 3);
    for (const o of canaryObjects) {
      const bucket = g.nodes.find((b) => b.type === T.bucket && b.id === o.inputs.bucket)!.state.bucket;
      assert.ok(prefixes.some((p) => `arn:aws:s3:::${bucket}/${o.inputs.key}`.startsWith(p)), `${bucket}/${o.inputs.key} is data-logged`);
    }
  });

  it("the account trail is not tagged as any sandbox's (the sweep never lists it), and logs to its own Object Lock bucket", () => {
    const [trail] = ofType(g, T.trail);
    assert.strictEqual(trail.inputs.tags["airlock:sandbox"], undefined);
    const bucket = g.nodes.find((b) => b.type === T.bucket && b.state.bucket === trail.inputs.s3BucketName)!;
    assert.ok(bucket, "its bucket is the account program's");
    assert.strictEqual(bucket.inputs.objectLockEnabled, true);
    assert.strictEqual(bucket.inputs.tags["airlock:sandbox"], undefined);
    const lock = ofType(g, T.lock).find((l) => l.inputs.bucket === bucket.id)!;
    assert.strictEqual(lock.inputs.rule.defaultRetention.mode, "COMPLIANCE");
    // No sandbox's record bucket is the trail's destination.
    for (const b of ofType(g, T.bucket).filter((b) => b.inputs.tags?.["airlock:role"] === "record")) assert.notStrictEqual(b.state.bucket, trail.inputs.s3BucketName);
  });

  it(`${SANDBOXES} canary-object rules: each matches a read of its own sandbox's canary by its own workload, and no other sandbox's`, () => {
    for (const [i, name] of names.entries()) {
      const rules = ofType(g, T.rule).filter((r) => under(g, r, name) && r.name.endsWith("canary-object-rule"));
      assert.strictEqual(rules.length, 1, name);
      const pattern = JSON.parse(rules[0].inputs.eventPattern);
      const ownRole = ofType(g, T.role).find((r) => under(g, r, name) && r.name.endsWith("workload-role"))!.state.arn;
      for (const [j, other] of names.entries()) {
        const bucket = ofType(g, T.bucket).find((b) => under(g, b, other) && b.inputs.tags?.["airlock:role"] === "artifacts")!.state.bucket;
        const role = ofType(g, T.role).find((r) => under(g, r, other) && r.name.endsWith("workload-role"))!.state.arn;
        assert.strictEqual(matches(pattern, getObjectEvent(bucket, "canaries/.aws/credentials", role)), i === j, `${name}'s rule on ${other}'s canary read by ${other}`);
        // Scoped by bucket too, not only by principal: another sandbox's canary ARN never matches.
        assert.strictEqual(matches(pattern, getObjectEvent(bucket, "canaries/.aws/credentials", ownRole)), i === j, `${name}'s rule on ${other}'s canary ARN`);
      }
    }
  });

  it(`${SANDBOXES} canary-key rules (one per sandbox, this region): each matches its own key only`, () => {
    const keys = names.map((n) => String(ofType(g, T.accessKey).find((k) => under(g, k, n))!.id));
    assert.strictEqual(new Set(keys).size, SANDBOXES);
    for (const [i, name] of names.entries()) {
      const rules = ofType(g, T.rule).filter((r) => under(g, r, name) && r.name.endsWith("canary-key-rule"));
      assert.strictEqual(rules.length, 1, name);
      const pattern = JSON.parse(rules[0].inputs.eventPattern);
      keys.forEach((k, j) => assert.strictEqual(matches(pattern, keyUseEvent(k)), i === j, `${name}'s key rule on key ${j}`));
    }
  });
});

describe("AWS defect 5: the account program accounts/aws/index.ts", function () {
  this.timeout(60_000);
  const path = require("path") as typeof import("path");
  const entry = path.join(__dirname, "..", "accounts", "aws", "index.ts");
  async function run(config: Record<string, string>) {
    const { buildGraph } = await import("../components/invariants/mock-graph");
    return buildGraph(async () => {
      delete require.cache[require.resolve(entry)];
      return { ...require(entry) };
    }, { project: "airlock-aws-account", stack: "acct", config, region: config["aws:region"] });
  }

  it("creates the one trail in aws:region, with its lock settings from config, and exports its name and ARN", async () => {
    const built = await run({ "aws:region": "eu-west-1", "airlock:trailRetentionDays": "400", "airlock:trailLockMode": "governance" });
    const [trail, ...more] = ofType(built.graph, T.trail);
    assert.deepStrictEqual(more, []);
    assert.strictEqual(trail.inputs.name, "airlock-canary-trail");
    assert.strictEqual(ofType(built.graph, T.lock)[0].inputs.rule.defaultRetention.mode, "GOVERNANCE");
    assert.strictEqual(ofType(built.graph, T.lock)[0].inputs.rule.defaultRetention.days, 400);
    assert.strictEqual(built.outputs.trailArn, "arn:aws:cloudtrail:eu-west-1:123456789012:trail/airlock-canary-trail");
    assert.ok(built.graph.nodes.some((n) => n.type === "pulumi:providers:aws" && n.inputs.region === "eu-west-1"));
  });

  it("a lock mode it does not know is refused, naming the key and the fix", async () => {
    await assert.rejects(run({ "aws:region": "us-east-2", "airlock:trailLockMode": "none" }), (e: any) => /airlock:trailLockMode: 'none' is not a lock mode — fix: compliance/.test(e.message));
  });
});

describe("AWS defect 5: a sandbox never runs without the account trail (issue 8)", function () {
  this.timeout(60_000);
  const awsResources = (r: GraphRecorder) => r.nodes.filter((n) => n.type.startsWith("aws:"));

  it("the account trail missing: refused at preview naming the trail and the fix, and no AWS resource is registered", async () => {
    const recorder = new GraphRecorder();
    await assert.rejects(buildProgram(["lonely"], { mocks: { trail: "absent" }, recorder }), (e: any) => /airlock-canary-trail/.test(e.message) && /was not found/.test(e.message) && /accounts\/aws up/.test(e.message) && /airlock:trailRegion/.test(e.message));
    assert.ok(recorder.invokes.some((i) => i.token === CC_GET && i.inputs.typeName === "AWS::CloudTrail::Trail" && i.inputs.identifier === "airlock-canary-trail" && i.inputs.region === "us-east-2"));
    assert.deepStrictEqual(awsResources(recorder).map((n) => n.name), [], "nothing created, not even the retained record bucket");
  });

  const broken: [string, import("../components/aws/mocks").MockTrail, RegExp][] = [
    ["not logging", { isLogging: false, isMultiRegion: true, selectors: [] }, /not logging/],
    ["single-region", { isLogging: true, isMultiRegion: false, selectors: [] }, /not multi-region/],
    [
      "data events on another prefix, management events write-only",
      {
        isLogging: true,
        isMultiRegion: true,
        selectors: [
          { fieldSelectors: [{ field: "eventCategory", equals: ["Management"] }, { field: "readOnly", equals: ["false"] }] },
          { fieldSelectors: [{ field: "eventCategory", equals: ["Data"] }, { field: "resources.type", equals: ["AWS::S3::Object"] }, { field: "resources.ARN", startsWiths: ["arn:aws:s3:::other-team-"] }] },
        ],
      },
      /no selector logs all management events.*no selector logs S3 object data events on arn:aws:s3:::pkgmirror-/,
    ],
  ];
  for (const [what, trail, why] of broken)
    it(`a trail that will not deliver this sandbox's canary events (${what}) is refused, saying why, before anything is registered`, async () => {
      const recorder = new GraphRecorder();
      await assert.rejects(buildProgram(["lonely"], { mocks: { trail }, recorder }), (e: any) => /will not deliver this sandbox's canary events/.test(e.message) && why.test(e.message));
      assert.deepStrictEqual(awsResources(recorder).map((n) => n.name), []);
    });

  it("airlock:trailRegion: the trail is looked up in that region", async () => {
    const recorder = new GraphRecorder();
    const built = await buildProgram(["far"], { mocks: { trail: { ...(await import("../components/aws/mocks")).MOCK_ACCOUNT_TRAIL, region: "eu-west-1" } }, config: { "airlock:trailRegion": "eu-west-1" }, recorder });
    assert.ok(recorder.invokes.some((i) => i.token === CC_GET && i.inputs.region === "eu-west-1"));
    const [adopted] = ofType(built.graph, T.adopted);
    assert.strictEqual(adopted.inputs.arn, "arn:aws:cloudtrail:eu-west-1:123456789012:trail/airlock-canary-trail");
    assert.deepStrictEqual(ofType(built.graph, T.trail), []);
  });

  it("unsafe.noCanaries: no trail is needed, none is looked up", async () => {
    const recorder = new GraphRecorder();
    const { buildGraph } = await import("../components/invariants/mock-graph");
    const { awsAccountMocks } = await import("../components/aws/mocks");
    const { parseSpec } = await import("../components/spec");
    const { identityFor } = await import("../components/naming");
    const { AwsSandbox } = await import("../components/aws/component");
    const spec = parseSpec({ ...stackSpecDoc("aws"), name: "nocanary", canaries: { enabled: false }, unsafe: { noCanaries: true } }, "test");
    const built = await buildGraph(async () => void new AwsSandbox("nocanary", { spec, identity: identityFor(spec, { uniqueSuffix: "t0" }) }), { stack: "nc", config: { "aws:region": "us-east-2" }, region: "us-east-2", recorder, mocks: [awsAccountMocks({ trail: "absent" })] });
    assert.ok(!recorder.invokes.some((i) => i.token === CC_GET));
    assert.deepStrictEqual([...ofType(built.graph, T.trail), ...ofType(built.graph, T.adopted)], []);
  });
});
