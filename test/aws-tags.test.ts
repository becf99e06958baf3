// Labels: every taggable resource of the aws stack carries the sandbox id, expiry and owner (and the
// spec's own tags) in its own inputs — and the backend's list of untaggable types agrees with the
// @pulumi/aws declarations.
import * as assert from "assert";
import { argsHaveTags, buildStackGraph, stackSpecDoc } from "./helpers/pulumi-mocks";
import { AWS_UNTAGGABLE_TYPES, isAwsTaggable } from "../components/aws/taggable";
import { labelTransformation } from "../components/aws/tags";
import { sandboxLabels } from "../components/naming";
import type { StackGraph } from "../components/invariants/mock-graph";

describe("aws labels", () => {
  let built: StackGraph;
  before(async () => {
    built = await buildStackGraph("aws");
  });

  it("the untaggable list matches the SDK: no listed type declares tags", () => {
    for (const type of AWS_UNTAGGABLE_TYPES) assert.strictEqual(argsHaveTags(type), false, type);
  });

  it("every type the stack uses is classified as the SDK declares it", () => {
    // AWS resources only: the expiry kept in state (components/expiry.ts) is a dynamic resource, not in the SDK.
    const types = [...new Set(built.graph.resources.map((n) => n.type).filter((t) => t.startsWith("aws:")))];
    assert.ok(types.length > 30);
    for (const type of types) assert.strictEqual(isAwsTaggable(type), argsHaveTags(type), type);
  });

  it("every resource whose type takes tags carries the three labels and the spec's tags", () => {
    const doc = stackSpecDoc("aws");
    const tagged = built.graph.resources.filter((n) => n.type.startsWith("aws:") && argsHaveTags(n.type));
    assert.ok(tagged.length > 40, `${tagged.length} taggable resources`);
    const ids = new Set<string>();
    for (const n of tagged) {
      const tags = n.inputs.tags ?? {};
      assert.strictEqual(tags["airlock:owner"], doc.owner, n.name);
      assert.match(tags["airlock:sandbox"] ?? "", new RegExp(`^${doc.name}-[0-9a-f]{6}$`), n.name);
      assert.ok(!Number.isNaN(Date.parse(tags["airlock:expires-at"])), n.name);
      for (const [k, v] of Object.entries(doc.tags)) assert.strictEqual(tags[k], v, `${n.name} ${k}`);
      ids.add(tags["airlock:sandbox"]);
    }
    assert.strictEqual(ids.size, 1);
  });

  it("instances label their root volumes too", () => {
    for (const i of built.graph.resources.filter((n) => n.type === "aws:ec2/instance:Instance")) assert.ok(i.inputs.volumeTags?.["airlock:sandbox"], i.name);
  });

  it("a resource's own tags cannot override the labels", async () => {
    const identity = { id: "own-abc123", expiresAt: new Date("2030-01-01T00:00:00Z"), owner: "o@x.org" };
    const transform = labelTransformation(sandboxLabels(identity, "tags", { team: "t" }));
    const result = transform({ type: "aws:ec2/vpc:Vpc", name: "v", props: { tags: { "airlock:sandbox": "someone-else", "airlock:role": "gate" } }, opts: {}, resource: undefined as any })!;
    const tags = await (result.props.tags as any).promise();
    assert.deepStrictEqual(tags, { "airlock:sandbox": "own-abc123", "airlock:role": "gate", team: "t", "airlock:expires-at": "2030-01-01T00:00:00Z", "airlock:owner": "o@x.org" });
    assert.strictEqual(transform({ type: "aws:iam/rolePolicy:RolePolicy", name: "p", props: {}, opts: {}, resource: undefined as any }), undefined, "untaggable types are left alone");
  });
});
