// The CrossGuard pack (policy/) called directly, on every stack in stacks/ (no violations) and on the
// conformance mutations (each flagged by the invariant's own policy, at the mandatory level, with a
// message that says what to change) — in both phases the engine calls a pack: a preview (references
// unknown, no outputs) and after an update (values known).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { buildStackGraph } from "./helpers/pulumi-mocks";
import { engineResources, Phase, runPolicies } from "./helpers/policy-harness";
import { COVERAGE_POLICY, POLICY_NAMES, SPEC_POLICY } from "../policy/policies";
import { descriptorOf } from "../components/backends";
import type { ResourceGraph } from "../components/invariants";
import type { GraphNode } from "../components/invariants/graph";
import type { StackGraph } from "../components/invariants/mock-graph";

const STACKS = fs
  .readdirSync(path.join(__dirname, "..", "stacks"))
  .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
  .filter((s): s is string => !!s);

const PHASES: Phase[] = ["preview", "up"];

// Cloud stacks are judged as after an update (values known). At a preview, references hidden inside
// values the engine does not know yet (JSON policy documents, route-table ids that are outputs) are
// not resolvable, and the fail-closed pack reports them: a known limitation (see docs/policy.md).
describe("policy pack: every stack in stacks/ passes", () => {
  for (const stack of STACKS) {
    const phases: Phase[] = stack === "local" ? PHASES : ["up"];
    for (const phase of phases) {
      it(`${stack} (${phase}): no violation (a backend without invariant facts yet: only the advisory coverage notice)`, async () => {
        const built = await buildStackGraph(stack);
        const violations = await runPolicies(engineResources(built.graph, phase));
        if (descriptorOf(built.spec.backend)?.facts || built.spec.backend === "local") assert.deepStrictEqual(violations, []);
        else assert.deepStrictEqual(violations.map((v) => [v.policy, v.level]), [[COVERAGE_POLICY, "advisory"]]);
      });
    }
  }
});

type Change = (g: ResourceGraph, node: (type: string, suffix: string) => GraphNode) => void;
const T = {
  vpc: "aws:ec2/vpc:Vpc",
  igw: "aws:ec2/internetGateway:InternetGateway",
  sg: "aws:ec2/securityGroup:SecurityGroup",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  instance: "aws:ec2/instance:Instance",
  lock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
  object: "aws:s3/bucketObjectv2:BucketObjectv2",
  schedule: "aws:scheduler/schedule:Schedule",
};
const sgOf = (g: ResourceGraph, role: string) => g.nodes.find((n) => n.type === T.sg && n.inputs.tags?.["airlock:role"] === role)!;

/** One or more per invariant: what must be flagged, where, and why. */
const MUTATIONS: { id: keyof typeof POLICY_NAMES; what: string; change: Change; resource: RegExp; why: RegExp }[] = [
  { id: "I1", what: "an internet gateway added", change: (m, node) => void m.add({ type: T.igw, name: "added-igw", inputs: { vpcId: node(T.vpc, "vpc").id }, id: "igw-added" }), resource: /InternetGateway::added-igw/, why: /internet gateway/i },
  { id: "I1", what: "a public IP on the workload", change: (_m, node) => (node(T.instance, "workload").inputs.associatePublicIpAddress = true), resource: /-workload: /, why: /public/i },
  {
    id: "I2",
    what: "the workload may reach 0.0.0.0/0",
    change: (m) => void m.add({ type: T.egress, name: "added-open-egress", inputs: { securityGroupId: sgOf(m, "workload").id, cidrIpv4: "0.0.0.0/0", ipProtocol: "-1" }, id: "sgr-open" }),
    resource: /added-open-egress/,
    why: /0\.0\.0\.0\/0/,
  },
  {
    id: "I3",
    what: "SSH from the internet into the gate",
    change: (m) => void m.add({ type: T.ingress, name: "added-gate-ingress", inputs: { securityGroupId: sgOf(m, "gate").id, cidrIpv4: "0.0.0.0/0", ipProtocol: "tcp", fromPort: 22, toPort: 22 }, id: "sgr-in" }),
    resource: /added-gate-ingress/,
    why: /from 0\.0\.0\.0\/0/,
  },
  { id: "I4", what: "IMDSv1 on the workload", change: (_m, node) => (node(T.instance, "workload").inputs.metadataOptions.httpTokens = "optional"), resource: /-workload: /, why: /IMDS|metadata|token/i },
  { id: "I4", what: "an SSH key on the workload", change: (_m, node) => (node(T.instance, "workload").inputs.keyName = "laptop"), resource: /-workload: /, why: /SSH key/ },
  { id: "I5", what: "governance instead of compliance lock", change: (m) => (m.ofType(T.lock)[0].inputs.rule.defaultRetention.mode = "GOVERNANCE"), resource: /-record: /, why: /governance.*compliance/ },
  { id: "I6", what: "the canary objects removed", change: (m) => void m.remove((n) => n.type === T.object), resource: /\(graph\)|./, why: /canar/i },
  { id: "I7", what: "the TTL schedule removed", change: (m) => void m.remove((n) => n.type === T.schedule), resource: /./, why: /TTL|schedule|expir/i },
  { id: "I7", what: "a resource without the sandbox label", change: (_m, node) => delete node(T.instance, "workload").inputs.tags["airlock:sandbox"], resource: /-workload: /, why: /airlock:sandbox/ },
];

describe("policy pack: conformance mutations are flagged", () => {
  let aws: StackGraph;
  before(async () => {
    aws = await buildStackGraph("aws");
  });
  const mutated = (change: Change) => {
    const g = aws.graph.clone();
    change(g, (type, suffix) => {
      const found = g.nodes.filter((n) => n.type === type && n.name.endsWith(`-${suffix}`));
      assert.strictEqual(found.length, 1, `${type} *-${suffix}`);
      return found[0];
    });
    return g;
  };
  for (const m of MUTATIONS) {
    for (const phase of PHASES) {
      it(`${m.id} (${phase}): ${m.what}`, async () => {
        const violations = await runPolicies(engineResources(mutated(m.change), phase));
        const own = violations.filter((v) => v.policy === POLICY_NAMES[m.id]);
        assert.ok(own.length > 0, `${POLICY_NAMES[m.id]} reported nothing; all: ${JSON.stringify(violations, null, 1)}`);
        const hit = own.find((v) => m.resource.test(v.message) && m.why.test(v.message));
        assert.ok(hit, `no ${m.id} violation on ${m.resource} saying ${m.why}: ${own.map((v) => v.message).join("\n")}`);
        assert.strictEqual(hit!.level, "mandatory");
        assert.match(hit!.message, /Fix: change (this resource|the stack) so that I\d .* holds/);
        if (!/\(spec\)|\(graph\)/.test(hit!.message)) assert.ok(hit!.urn?.startsWith("urn:"), `violation names its resource's URN: ${hit!.urn}`);
      });
    }
  }

  it("enforcement levels are configurable per policy", async () => {
    const violations = await runPolicies(engineResources(mutated(MUTATIONS[0].change), "up"), { levels: { [POLICY_NAMES.I1]: "advisory" } });
    assert.ok(violations.some((v) => v.policy === POLICY_NAMES.I1 && v.level === "advisory"));
  });

  it("a local sandbox whose spec opts out of a safety default without the unsafe flag violates the spec policy", async () => {
    const local = await buildStackGraph("local");
    const g = local.graph.clone();
    const sandbox = g.nodes.find((n) => n.inputs?.spec && n.inputs?.sandboxName)!;
    assert.ok(sandbox, "the local stack has its sandbox resource");
    sandbox.inputs.spec.canaries.enabled = false;
    const violations = await runPolicies(engineResources(g, "preview"));
    const spec = violations.filter((v) => v.policy === SPEC_POLICY);
    assert.strictEqual(spec.length, 1, JSON.stringify(violations));
    assert.strictEqual(spec[0].level, "mandatory");
    assert.match(spec[0].message, /canaries\.enabled.*unsafe\.noCanaries/s);
  });
});
