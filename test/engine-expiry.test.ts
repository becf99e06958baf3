// The kept expiry (components/expiry.ts) through the real Pulumi engine: the engine, not a mock,
// passes the stored inputs to the dynamic provider's check(). A program of just the expiry resource
// (no cloud: a cloud stack cannot run here without its provider plugin and an account) is deployed,
// deployed again with the clock three hours later (a no-op: same expiry, no change), then with a
// longer TTL (an update: the new expiry, the extension recorded in the state).
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Stack } from "@pulumi/pulumi/automation";
import { requirePulumi, engineEnv, pulumiCommand } from "../automation/engine";
import { changes } from "./helpers/common";

const HOUR = 3_600_000;


describe("engine: the sandbox expiry is kept in the stack's state by the real engine", function () {
  this.timeout(300_000);
  let stack: Stack;
  let workDir: string;
  // What the program proposes on each run (the test moves the clock and the TTL).
  const run = { aheadMs: 0, ttlMs: 4 * HOUR };

  before(async () => {
    const engine = requirePulumi();
    const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-engine-expiry-"));
    const program = async () => {
      const { SandboxExpiry } = await import("../components/expiry");
      const e = new SandboxExpiry("sandbox-expiry", { ttlMs: run.ttlMs, proposed: new Date(Date.now() + run.aheadMs + run.ttlMs) });
      return { expiresAt: e.expiresAt, extensions: e.extensions };
    };
    stack = await LocalWorkspace.createOrSelectStack(
      { stackName: "expiry", projectName: "airlock-expiry-test", program },
      { workDir, pulumiCommand: await pulumiCommand(engine), envVars: engineEnv(engine, { stateDir: path.join(workDir, "state") }) },
    );
  });

  after(async () => {
    if (stack) await stack.destroy().catch(() => undefined);
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  let first: string;
  it("up creates it at now + TTL", async () => {
    const t = Date.now();
    const r = await stack.up();
    first = r.outputs.expiresAt.value;
    assert.ok(Math.abs(Date.parse(first) - (t + 4 * HOUR)) < 60_000, `expiry ${first}`);
  });

  it("up again three hours later with the same TTL: no change, the same expiry", async () => {
    run.aheadMs = 3 * HOUR;
    const preview = await stack.preview();
    assert.deepStrictEqual(Object.fromEntries(Object.entries(preview.changeSummary).filter(([k, n]) => k !== "same" && (n ?? 0) > 0)), {}, "preview plans a change");
    const r = await stack.up();
    assert.deepStrictEqual(changes(r), {}, "the second up changed something");
    assert.strictEqual(r.outputs.expiresAt.value, first);
    assert.deepStrictEqual(r.outputs.extensions.value, []);
  });

  it("a longer TTL: an update to (now + 3 h) + 6 h, recorded as an extension", async () => {
    run.ttlMs = 6 * HOUR;
    const t = Date.now() + 3 * HOUR;
    const r = await stack.up();
    assert.deepStrictEqual(changes(r), { update: 1 });
    assert.ok(Math.abs(Date.parse(r.outputs.expiresAt.value) - (t + 6 * HOUR)) < 60_000, r.outputs.expiresAt.value);
    assert.deepStrictEqual(r.outputs.extensions.value.map((e: any) => [e.fromTtlMs, e.toTtlMs, e.expiresAt]), [[4 * HOUR, 6 * HOUR, r.outputs.expiresAt.value]]);
  });
});
