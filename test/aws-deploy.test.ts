// AWS deploy-time defects (issue 8 §1): what a real `pulumi up` needs that mocks do not enforce.
// Each test reads the resource inputs a deploy would send, and states the AWS rule it checks in its
// name; each failed on the code before its fix.
import * as assert from "assert";
import { buildStackGraph, buildVariant, ofType, one, policyOf } from "./helpers/pulumi-mocks";
import type { StackGraph } from "../components/invariants/mock-graph";

const T = {
  dnsRule: "aws:route53/resolverFirewallRule:ResolverFirewallRule",
  dnsList: "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList",
  rule: "aws:cloudwatch/eventRule:EventRule",
  target: "aws:cloudwatch/eventTarget:EventTarget",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  queue: "aws:sqs/queue:Queue",
  queuePolicy: "aws:sqs/queuePolicy:QueuePolicy",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  topic: "aws:sns/topic:Topic",
};

describe("AWS deploy-time defects (issue 8)", () => {
  let built: StackGraph;
  before(async () => {
    built = await buildStackGraph("aws");
  });

  it("1. the DNS Firewall allow rule trusts CNAME/ALIAS chains of allowed names (the bucket names are CNAMEs to unlisted S3 names)", () => {
    const allow = ofType(built.graph, T.dnsRule).find((r) => r.inputs.action === "ALLOW")!;
    assert.strictEqual(allow.inputs.firewallDomainRedirectionAction, "TRUST_REDIRECTION_DOMAIN");
    const list = ofType(built.graph, T.dnsList).find((l) => l.id === allow.inputs.firewallDomainListId)!;
    assert.ok(list.inputs.domains.some((d: string) => /\.s3\.us-east-2\.amazonaws\.com$/.test(d) && !d.startsWith("s3.")), "bucket names are on the list, their CNAME targets are not");
  });

  describe("2. the kill path", () => {
    it("grants StartAutomationExecution on the AWS-owned runbook's ARN with an empty account field", () => {
      const stmts = policyOf(one(built.graph, T.rolePolicy, "kill-invoke-policy")).Statement;
      const start = stmts.find((s: any) => s.Action.includes("ssm:StartAutomationExecution"));
      assert.deepStrictEqual(start.Resource, ["arn:aws:ssm:us-east-2::automation-definition/AWS-StopEC2Instance:*"]);
    });

    it("every alert and kill target has a dead-letter queue that only this sandbox's rules may write", () => {
      const [queue] = ofType(built.graph, T.queue);
      assert.ok(queue, "a dead-letter queue");
      const targets = ofType(built.graph, T.target).filter((t) => !t.name.endsWith("canary-key-forward"));
      assert.ok(targets.length >= 4, "alert and kill targets of both rules");
      for (const t of targets) assert.strictEqual(t.inputs.deadLetterConfig?.arn, queue.state.arn, t.name);
      const policy = policyOf(ofType(built.graph, T.queuePolicy)[0]);
      const rules = ofType(built.graph, T.rule).filter((r) => r.inputs.region === undefined);
      assert.deepStrictEqual([...policy.Statement[0].Condition.ArnEquals["aws:SourceArn"]].sort(), rules.map((r) => r.state.arn).sort());
    });

    it("alarms to the alert topic on any failed invocation of a detection rule and on any dead letter", () => {
      const topic = ofType(built.graph, T.topic)[0];
      const alarms = ofType(built.graph, T.alarm);
      const failed = alarms.filter((a) => a.inputs.metricName === "FailedInvocations");
      const rules = ofType(built.graph, T.rule).filter((r) => r.inputs.region === undefined);
      assert.deepStrictEqual(failed.map((a) => a.inputs.dimensions.RuleName).sort(), rules.map((r) => r.state.name).sort());
      const dlq = alarms.find((a) => a.inputs.namespace === "AWS/SQS")!;
      assert.strictEqual(dlq.inputs.dimensions.QueueName, ofType(built.graph, T.queue)[0].state.name);
      for (const a of alarms) {
        assert.deepStrictEqual(a.inputs.alarmActions, [topic.state.arn], a.name);
        assert.strictEqual(a.inputs.threshold, 1);
      }
    });
  });

  describe("3. the operator's own deploy does not trip the canary", () => {
    it("the canary-object rule matches only the workload role's sessions or the sandbox's S3 endpoint, not any principal", () => {
      const pattern = JSON.parse(one(built.graph, T.rule, "canary-object-rule").inputs.eventPattern);
      const role = one(built.graph, "aws:iam/role:Role", "workload-role");
      const s3 = ofType(built.graph, "aws:ec2/vpcEndpoint:VpcEndpoint").find((e) => e.inputs.vpcEndpointType === "Gateway")!;
      assert.deepStrictEqual(pattern.detail.$or, [{ userIdentity: { sessionContext: { sessionIssuer: { arn: [role.state.arn] } } } }, { vpcEndpointId: [s3.id] }]);
      assert.ok(!("userIdentity" in pattern.detail), "no principal-free match beside the alternatives");
    });
  });

  describe("4. canary-key use is seen, read-only and global calls included", () => {
    it("the canary-key rule delivers all CloudTrail management events (ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS)", () => {
      const key = one(built.graph, T.rule, "canary-key-rule");
      assert.strictEqual(key.inputs.state, "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS");
    });

    it("the same rule in us-east-1 (IAM/STS events) forwards to the sandbox region's bus", () => {
      const key = one(built.graph, T.rule, "canary-key-rule");
      const global = one(built.graph, T.rule, "canary-key-global-rule");
      assert.strictEqual(global.inputs.region, "us-east-1");
      assert.strictEqual(global.inputs.state, "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS");
      assert.strictEqual(global.inputs.eventPattern, key.inputs.eventPattern);
      const fwd = one(built.graph, T.target, "canary-key-forward");
      assert.strictEqual(fwd.inputs.region, "us-east-1");
      assert.strictEqual(fwd.inputs.rule, global.state.name);
      assert.strictEqual(fwd.inputs.arn, "arn:aws:events:us-east-2:123456789012:event-bus/default");
      assert.deepStrictEqual(policyOf(one(built.graph, T.rolePolicy, "canary-forward-policy")).Statement[0].Resource, [fwd.inputs.arn]);
    });

    it("a sandbox in us-east-1 needs no forwarding rule", async () => {
      const g = await buildVariant("aws", (d) => (d.region = "us-east-1"), undefined, { "aws:region": "us-east-1" });
      assert.deepStrictEqual(ofType(g.graph, T.rule).filter((r) => r.name.endsWith("canary-key-global-rule")), []);
    });
  });
});

describe("AWS deploy-time defects (issue 8), refused before anything is registered", () => {
  it("9. an aws:region that differs from spec.region is refused, naming both and the fix", async () => {
    const { GraphRecorder } = await import("./helpers/pulumi-mocks");
    const { SpecError } = await import("../components/spec");
    const recorder = new GraphRecorder();
    await assert.rejects(
      buildVariant("aws", () => undefined, recorder, { "aws:region": "eu-central-1" }),
      (e: any) => e instanceof SpecError && e.issues.some((i) => i.path === "region" && /aws:region is 'eu-central-1'.*'us-east-2'/.test(i.message) && /pulumi config set aws:region us-east-2/.test(i.fix)),
    );
    assert.deepStrictEqual(recorder.nodes.filter((n) => n.type.startsWith("aws:")), [], "no AWS resource registered");
  });
});

describe("AWS deploy-time defects (issue 8), names at the maximum spec lengths", () => {
  it("7. every generated IAM/S3 name and prefix fits the provider's limit with a 24-character sandbox and target name", async () => {
    const long = "t" + "x".repeat(22) + "1"; // NAME_RE's maximum: 24 characters
    const g = await buildVariant("aws", (d) => {
      d.name = "n" + "y".repeat(22) + "2";
      for (const t of d.targets) {
        for (const e of d.egress.allow) if (e.target === t.name) e.target = long;
        t.name = long;
      }
    });
    const nodes = g.graph.resources;
    assert.ok(nodes.some((n) => n.type === "aws:iam/role:Role" && String(n.inputs.description).endsWith(`target-${long}`)), "the long target name is in use");
    // Provider limits: IAM role / instance profile name_prefix 38 (name 64), S3 bucket_prefix 37 (bucket 63).
    for (const n of nodes.filter((n) => n.type === "aws:iam/role:Role" || n.type === "aws:iam/instanceProfile:InstanceProfile")) {
      if (n.inputs.namePrefix !== undefined) assert.ok(n.inputs.namePrefix.length <= 38, `${n.name}: namePrefix ${n.inputs.namePrefix} (${n.inputs.namePrefix.length})`);
      else assert.ok(n.name.length + 8 <= 64, `${n.name}: auto-named ${n.name.length + 8} characters`);
    }
    for (const n of nodes.filter((n) => n.type === "aws:s3/bucket:Bucket")) assert.ok(n.inputs.bucketPrefix.length <= 37, `${n.name}: bucketPrefix ${n.inputs.bucketPrefix}`);
    const prefixes = nodes.filter((n) => n.inputs.namePrefix).map((n) => `${n.type} ${n.inputs.namePrefix}`);
    assert.strictEqual(new Set(prefixes).size, prefixes.length, "still unique after bounding");
  });
});

describe("AWS deploy-time defects (issue 8), zone choice", () => {
  it("8. the subnets go to an opt-in-free Availability Zone that offers the workload's type (not a Local Zone, not names[0])", async () => {
    // The mock account lists an opted-in Local Zone first, and offers m6a only in zones b and c.
    const built = await buildStackGraph("aws");
    const zones = new Set(ofType(built.graph, "aws:ec2/subnet:Subnet").map((s) => s.inputs.availabilityZone));
    assert.deepStrictEqual([...zones], ["us-east-2b"]);
  });
});

describe("AWS deploy-time defects (issue 8), 3. the expiry is fixed at creation", () => {
  // The engine calls check(olds = the stored inputs, news = this run's): keepExpiry is that call.
  it("a second `up` at a later 'now' with the same TTL keeps the stored expiry; a changed TTL extends and is recorded", async () => {
    const { keepExpiry } = await import("../components/expiry");
    const first = keepExpiry(undefined, { ttlMs: 3_600_000, proposed: "2030-01-01T01:00:00.000Z" });
    const second = keepExpiry(first, { ttlMs: 3_600_000, proposed: "2030-01-01T05:00:00.000Z" });
    assert.strictEqual(second.expiresAt, "2030-01-01T01:00:00.000Z");
    assert.deepStrictEqual(second.extensions, []);
    const extended = keepExpiry(second, { ttlMs: 7_200_000, proposed: "2030-01-01T07:00:00.000Z" });
    assert.strictEqual(extended.expiresAt, "2030-01-01T07:00:00.000Z");
    assert.deepStrictEqual(extended.extensions!.map((e) => [e.fromTtlMs, e.toTtlMs, e.expiresAt]), [[3_600_000, 7_200_000, "2030-01-01T07:00:00.000Z"]]);
  });

  it("the TTL schedule, every label (the canary objects' included) and the expiresAt output read the kept expiry", async () => {
    const built = await buildStackGraph("aws");
    const expiry = built.graph.nodes.find((n) => n.name.endsWith("-expiry") && n.type.endsWith("SandboxExpiry"))!;
    assert.ok(expiry, "an expiry resource in the stack's state");
    const at = expiry.state.expiresAt ?? expiry.inputs.proposed;
    const schedule = ofType(built.graph, "aws:scheduler/schedule:Schedule")[0];
    assert.strictEqual(schedule.inputs.scheduleExpression, `at(${at.replace(/\.\d{3}Z$/, "")})`);
    for (const o of ofType(built.graph, "aws:s3/bucketObjectv2:BucketObjectv2").filter((n) => /canary-/.test(n.name)))
      assert.strictEqual(o.inputs.tags["airlock:expires-at"], at.replace(/\.\d{3}Z$/, "Z"), o.name);
  });
});

describe("the mock graph: a provider function the mocks refuse", () => {
  it("fails the build with the function and the reason instead of hanging (the instance's outputs never resolve)", async function () {
    this.timeout(30_000);
    const aws = await import("@pulumi/aws");
    const { buildGraph, ProgramFailed } = await import("../components/invariants/mock-graph");
    const { awsMocks } = await import("../components/aws/mocks");
    const refusing = { ...awsMocks, call: (token: string, inputs: any, ctx: any) => (token === "aws:ec2/getAmi:getAmi" ? (() => { throw new Error("InvalidAMIID.NotFound (test)"); })() : awsMocks.call(token, inputs, ctx)) };
    const started = Date.now();
    await assert.rejects(
      buildGraph(
        async () => {
          const ami = aws.ec2.getAmiOutput({ filters: [{ name: "image-id", values: ["ami-0123456789abcdef0"] }] }).id;
          const instance = new aws.ec2.Instance("vm", { ami, instanceType: "t3.micro" });
          // Downstream of the failed resource: waits on its outputs.
          new aws.iam.Policy("p", { policy: instance.arn.apply((arn) => JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "ec2:StopInstances", Resource: arn }] })) });
          return { id: instance.id };
        },
        { mocks: [refusing] },
      ),
      (e: any) => e instanceof ProgramFailed && /aws:ec2\/getAmi:getAmi failed: InvalidAMIID\.NotFound \(test\)/.test(e.message),
    );
    assert.ok(Date.now() - started < 10_000, `failed within 10 s (took ${Date.now() - started} ms)`);
  });
});

describe("AWS deploy-time defects (issue 8), 6. images resolved and checked before anything is created", () => {
  const T_AMI = "aws:ec2/getAmi:getAmi";
  async function variant(change: (doc: any) => void, account: import("../components/aws/mocks").MockAccountImages, stack = "aws") {
    const { GraphRecorder } = await import("./helpers/pulumi-mocks");
    const { buildConfigGraph, readStackConfig } = await import("../components/invariants/mock-graph");
    const { CONFIG_KEY, stackFile } = await import("../components/spec");
    const { awsAccountMocks } = await import("../components/aws/mocks");
    const config = readStackConfig(stackFile(stack));
    const doc = JSON.parse(config[CONFIG_KEY]);
    change(doc);
    const recorder = new GraphRecorder();
    const result = buildConfigGraph(`${stack}-images`, { ...config, [CONFIG_KEY]: JSON.stringify(doc) }, { recorder, mocks: [awsAccountMocks(account)] });
    return { recorder, result };
  }
  const awsResources = (r: import("./helpers/pulumi-mocks").GraphRecorder) => r.nodes.filter((n) => n.type.startsWith("aws:"));

  it("a placeholder AMI id the account does not have is refused, naming the field, and no AWS resource (the record bucket first) is registered", async function () {
    this.timeout(30_000);
    const placeholder = "ami-0a1b2c3d4e5f67890";
    const { SpecError } = await import("../components/spec");
    const { recorder, result } = await variant((d) => (d.workload.image = placeholder), { missing: [placeholder] });
    await assert.rejects(result, (e: any) => e instanceof SpecError && e.issues.length === 1 && e.issues[0].path === "workload.image" && e.issues[0].value === placeholder && /no such AMI in us-east-2/.test(e.issues[0].message) && /Your query returned no results/.test(e.issues[0].message));
    assert.ok(recorder.invokes.some((i) => i.token === T_AMI && i.inputs.filters.some((f: any) => f.name === "image-id" && f.values[0] === placeholder)), "looked up by image-id");
    assert.deepStrictEqual(awsResources(recorder).map((n) => n.name), [], "no AWS resource registered");
  });

  it("every missing image is listed at once (workload and target)", async function () {
    this.timeout(30_000);
    const { recorder, result } = await variant(() => undefined, { missing: ["ami-0a1b2c3d4e5f67890", "ami-0f9e8d7c6b5a43210"] });
    await assert.rejects(result, (e: any) => JSON.stringify(e.issues?.map((i: any) => i.path)) === JSON.stringify(["workload.image", "targets[0].image"]));
    assert.deepStrictEqual(awsResources(recorder).map((n) => n.name), []);
  });

  it("SEV-SNP: an AMI with legacy-bios boot mode (or none) is refused; uefi and uefi-preferred are built", async function () {
    this.timeout(60_000);
    const id = "ami-0c1d2e3f4a5b69788"; // the aws-tee stack's workload image
    const image = (bootMode: string) => ({ images: [{ imageId: id, name: "eval", architecture: "x86_64", bootMode, state: "available" }] });
    for (const bootMode of ["legacy-bios", ""]) {
      const { recorder, result } = await variant(() => undefined, image(bootMode), "aws-tee");
      await assert.rejects(result, (e: any) => e.issues?.length === 1 && e.issues[0].path === "workload.image" && /sev-snp boots only with UEFI/.test(e.issues[0].message) && /uefi/.test(e.issues[0].fix), `boot mode '${bootMode}'`);
      assert.deepStrictEqual(awsResources(recorder).map((n) => n.name), [], `boot mode '${bootMode}': nothing registered`);
    }
    for (const bootMode of ["uefi", "uefi-preferred"]) {
      const { result } = await variant(() => undefined, image(bootMode), "aws-tee");
      const g = await result;
      const workload = ofType(g.graph, "aws:ec2/instance:Instance").find((n) => n.inputs.cpuOptions?.amdSevSnp === "enabled")!;
      assert.strictEqual(workload.inputs.ami, id, bootMode);
    }
  });

  it("a legacy-bios image is fine without SEV-SNP; an arm64 image is refused (every AWS type Airlock picks is x86_64)", async function () {
    this.timeout(60_000);
    const id = "ami-0a1b2c3d4e5f67890";
    const ok = await (await variant(() => undefined, { images: [{ imageId: id, name: "w", architecture: "x86_64", bootMode: "legacy-bios", state: "available" }] })).result;
    assert.ok(ofType(ok.graph, "aws:ec2/instance:Instance").some((n) => n.inputs.ami === id));
    const arm = await variant(() => undefined, { images: [{ imageId: id, name: "w", architecture: "arm64", bootMode: "uefi", state: "available" }] });
    await assert.rejects(arm.result, (e: any) => e.issues?.[0]?.path === "workload.image" && /arm64/.test(e.issues[0].message));
  });

  it("the instances boot the looked-up ids: the gate (and a workload without an image) the Amazon Linux lookup's", async () => {
    const { result } = await variant((d) => delete d.workload.image, {});
    const g = await result;
    const amis = ofType(g.graph, "aws:ec2/instance:Instance").map((n) => [n.name.replace(/^.*?-(workload|gate|target-.*)$/, "$1"), n.inputs.ami]);
    const al2023 = g.graph.nodes.length && amis.find(([n]) => n === "gate")![1];
    assert.match(al2023, /^ami-[0-9a-f]{17}$/);
    assert.deepStrictEqual(Object.fromEntries(amis), { workload: al2023, gate: al2023, "target-vuln-webapp": "ami-0f9e8d7c6b5a43210" });
  });
});

describe("AWS deploy-time defects (issue 8), 10. alerts reach a subscriber the spec names", () => {
  const SUB = "aws:sns/topicSubscription:TopicSubscription";
  const killTargets = (g: StackGraph) => ofType(g.graph, T.target).filter((t) => /kill-target-/.test(t.name)).map((t) => ({ name: t.name, arn: t.inputs.arn, input: t.inputs.input, roleArn: t.inputs.roleArn }));

  it("closed default: no alerts in the spec, no subscription", async () => {
    const built = await buildStackGraph("aws");
    assert.deepStrictEqual(ofType(built.graph, SUB), []);
  });

  it("alerts.email and alerts.webhook become email and https subscriptions of the alert topic; the kill targets are the same as without them", async () => {
    const plain = await buildVariant("aws", () => undefined); // same stack name, so the same ids
    const g = await buildVariant("aws", (d) => (d.alerts = { email: "oncall@lab.org", webhook: "https://hooks.lab.org/airlock" }));
    const topic = ofType(g.graph, T.topic)[0];
    const subs = ofType(g.graph, SUB).map((s) => [s.inputs.protocol, s.inputs.endpoint, s.inputs.topic]);
    assert.deepStrictEqual(subs.sort(), [["email", "oncall@lab.org", topic.state.arn], ["https", "https://hooks.lab.org/airlock", topic.state.arn]]);
    assert.ok(killTargets(g).length >= 2, "kill targets present");
    assert.deepStrictEqual(killTargets(g), killTargets(plain), "the kill path does not change with subscribers");
    for (const t of ofType(g.graph, T.target)) assert.ok(!ofType(g.graph, SUB).some((s) => t.inputs.arn === s.id), `${t.name} does not target a subscription`);
  });

  it("refuses an http:// webhook, a webhook with credentials and a malformed e-mail, naming the field and the fix", async () => {
    const { validateSpec } = await import("../components/spec");
    const { stackSpecDoc } = await import("./helpers/pulumi-mocks");
    for (const [alerts, path, re] of [
      [{ webhook: "http://hooks.lab.org/x" }, "alerts.webhook", /https:\/\//],
      [{ webhook: "https://user:pw@hooks.lab.org/x" }, "alerts.webhook", /user:password/],
      [{ email: "on call@lab" }, "alerts.email", /oncall@lab\.org/],
    ] as const) {
      const doc = stackSpecDoc("aws");
      doc.alerts = alerts;
      const r = validateSpec(doc);
      assert.ok(!r.ok, JSON.stringify(alerts));
      const issue = r.issues.find((i) => i.path === path)!;
      assert.ok(issue, `${JSON.stringify(alerts)}: an issue at ${path} (got ${r.issues.map((i) => i.path)})`);
      assert.match(issue.fix + issue.message, re);
    }
  });

  it("every other backend refuses alerts.email / alerts.webhook naming itself (it does not deliver them yet), rather than dropping them", async () => {
    const { validateSpec } = await import("../components/spec");
    const { stackSpecDoc } = await import("./helpers/pulumi-mocks");
    const seen = new Set<string>();
    for (const stack of ["gcp", "azure", "k8s", "local"]) {
      const doc = stackSpecDoc(stack);
      doc.alerts = { email: "oncall@lab.org", webhook: "https://hooks.lab.org/airlock" };
      const r = validateSpec(doc);
      assert.ok(!r.ok, stack);
      const alertIssues = r.issues.filter((i) => i.path.startsWith("alerts."));
      assert.deepStrictEqual(alertIssues.map((i) => i.path).sort(), ["alerts.email", "alerts.webhook"], stack);
      for (const i of alertIssues) assert.match(i.message, new RegExp(`backend '${doc.backend}' does not deliver ${i.path.replace(".", "\\.")}`), stack);
      assert.ok(validateSpec({ ...doc, alerts: undefined }).ok, `${stack}: valid without alerts`);
      seen.add(doc.backend);
    }
    assert.deepStrictEqual([...seen].sort(), ["azure", "gcp", "kubernetes", "local"]);
  });

  it("AWS with canaries off refuses alerts (no alert topic to subscribe)", async () => {
    const { validateSpec } = await import("../components/spec");
    const { stackSpecDoc } = await import("./helpers/pulumi-mocks");
    const doc = stackSpecDoc("aws");
    doc.canaries = { enabled: false };
    doc.unsafe = { noCanaries: true };
    doc.alerts = { email: "oncall@lab.org" };
    const r = validateSpec(doc);
    assert.ok(!r.ok);
    assert.deepStrictEqual(r.issues.map((i) => i.path), ["alerts.email"]);
  });
});
