// Stack tags (automation/stack-tags.ts): a sandbox created through the Automation API and the real
// engine has a stack tagged with its sandbox id, backend, expiry, owner and harness — and an
// organisation finds it by tag with the engine's own `pulumi stack ls --tag` (not through our code).
import * as assert from "assert";
import * as os from "os";
import { spawnSync } from "child_process";
import { createSandbox, destroySandbox, engineEnv, requirePulumi } from "../automation";
import { backendStacks, engineStateDir, sampleSpec, TASK_DIR } from "./helpers/automation-fixtures";

describe("automation: stack tags name the sandbox, its backend, expiry, owner and harness", function () {
  this.timeout(10 * 60_000);
  let stateDir: string;
  engineStateDir("airlock-automation-tags-", (dir) => (stateDir = dir));

  it("the stack carries the tags while the sandbox lives, and `pulumi stack ls --tag` finds it by owner and by sandbox id", async () => {
    const engine = requirePulumi();
    const spec = { ...sampleSpec("tagged"), owner: "alice@eval.example" };
    const before = Date.now();
    const sb = await createSandbox(spec, { engine: "pulumi", stateDir, taskDir: TASK_DIR, harness: "tag-test-harness" });
    try {
      // The engine's own CLI, in the same backend, as an organisation's tooling would ask it.
      const env = { ...engineEnv(engine, { stateDir }), PULUMI_CONFIG_PASSPHRASE: "airlock" };
      const ls = (filter: string) => {
        const r = spawnSync(engine.pulumi, ["stack", "ls", "--all", "--json", "--tag", filter], { encoding: "utf8", env, cwd: os.tmpdir() });
        assert.strictEqual(r.status, 0, `pulumi stack ls --tag ${filter}: ${r.stderr}`);
        return (JSON.parse(r.stdout) as { name: string }[]).map((s) => s.name.split("/").pop());
      };
      assert.deepStrictEqual(ls("airlock:owner=alice@eval.example"), [sb.stackName]);
      assert.deepStrictEqual(ls(`airlock:sandbox=${sb.outputs.sandboxId}`), [sb.stackName]);
      assert.deepStrictEqual(ls("airlock:owner=bob@eval.example"), [], "a filter on another owner finds the stack");
      const r = spawnSync(engine.pulumi, ["stack", "tag", "ls", "--json", "-s", `organization/airlock/${sb.stackName}`], { encoding: "utf8", env, cwd: os.tmpdir() });
      assert.strictEqual(r.status, 0, `pulumi stack tag ls: ${r.stderr}`);
      const tags = JSON.parse(r.stdout) as Record<string, string>;
      assert.strictEqual(tags["airlock:sandbox"], sb.outputs.sandboxId);
      assert.strictEqual(tags["airlock:backend"], "local");
      assert.strictEqual(tags["airlock:owner"], "alice@eval.example");
      assert.strictEqual(tags["airlock:harness"], "tag-test-harness");
      assert.strictEqual(tags["airlock:expires-at"], sb.outputs.expiresAt, "the stack's expiry tag is not the sandbox's expiry");
      const ttl = Date.parse(tags["airlock:expires-at"]) - before;
      assert.ok(ttl > 19 * 60_000 && ttl <= 21 * 60_000, `expiry tag ${tags["airlock:expires-at"]} is not ~20m (the spec's ttl) after the create`);
    } finally {
      await destroySandbox(sb);
    }
    assert.deepStrictEqual(backendStacks(stateDir), [], "the stack (and its tags) are left in the backend");
  });
});
