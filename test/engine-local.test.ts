// The `local` stack through the real Pulumi engine (issue 9 §0): the CLI that
// bin/setup-tests.d/20-pulumi-engine.sh builds (or the user's own), a file backend in a temporary
// folder, a private PULUMI_HOME, no plugin downloads. The Automation API runs index.ts inline with
// Pulumi.yaml and stacks/Pulumi.local.yaml as the project (automation/project-stack.ts), and the
// engine runs the local backend's dynamic provider in its own provider process — the real path of
// `pulumi up -s local`, with nothing mocked.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Stack, UpResult } from "@pulumi/pulumi/automation";
import { requirePulumi, PulumiEngine, PROJECT_ROOT } from "../automation/engine";
import { openProjectStack, ProjectStack } from "../automation/project-stack";
import { loadHandle, listHandles } from "../components/local/handle";
import { destroySandboxById } from "../components/local/lifecycle";
import { objectsOf } from "./helpers/local-sandbox";
import { probeFromHost, probeInside } from "./helpers/local-network";
import { changes } from "./helpers/common";

const ENETUNREACH = 101;

/** Stacks in a file backend: one folder per project under .pulumi/stacks/. */
function backendStacks(stateDir: string): string[] {
  const dir = path.join(stateDir, ".pulumi", "stacks");
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith(".json") && !f.includes(".bak"));
}


describe("engine: the local stack through the real Pulumi engine (preview, up, up again, destroy, refresh)", function () {
  this.timeout(300_000);
  let engine: PulumiEngine;
  let stateDir: string;
  let project: ProjectStack;
  let stack: Stack;
  const log: string[] = [];
  const onOutput = (s: string) => log.push(s);

  before(async function () {
    engine = requirePulumi(); // no skip: `npm test`'s pretest builds it; missing is a failure that says how to get one
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-engine-test-"));
    project = await openProjectStack("local", engine, { stateDir });
    stack = project.stack;
  });

  after(async function () {
    if (stack) {
      await stack.destroy({ onOutput }).catch(() => undefined);
      await stack.workspace.removeStack("local").catch(() => undefined);
    }
    project?.dispose();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it("uses the checked-in project and stack files unchanged, with the pinned engine version", async () => {
    for (const f of ["Pulumi.yaml", path.join("stacks", "Pulumi.local.yaml")]) {
      const copy = fs.readFileSync(path.join(project.workDir, f), "utf8");
      assert.ok(copy.startsWith(fs.readFileSync(path.join(PROJECT_ROOT, f), "utf8")), `${f}: the engine's copy differs from the checkout's`);
    }
    const env = await stack.getAllConfig();
    assert.ok(env["airlock:sandbox"], "the stack's airlock:sandbox config is not what the engine sees");
    const version = (await stack.workspace.pulumiVersion).replace(/^v/, "");
    if (engine.source === "cache") assert.strictEqual(version, engine.pinnedVersion, "the cached engine is not the pinned version");
  });

  it("preview plans the sandbox and creates nothing on the host", async () => {
    const r = await stack.preview({ onOutput });
    assert.ok((r.changeSummary.create ?? 0) >= 2, `preview plans no creation: ${JSON.stringify(r.changeSummary)}`);
    assert.deepStrictEqual(listHandles(), [], "preview created a sandbox");
  });

  let first: UpResult;
  it("up creates the sandbox on this host, reachable only through its gate", async () => {
    first = await stack.up({ onOutput });
    const id = first.outputs.sandboxId.value as string;
    const h = loadHandle(id);
    assert.ok(h, `up reported sandbox ${id} but the host has no such sandbox`);
    assert.ok((await objectsOf(id)).length > 0, "no host objects of the sandbox (kernel view)");
    assert.strictEqual(first.outputs.recordLocation.value, h.record);
    assert.ok(fs.existsSync(h.record), "the record named by the stack output does not exist");
    assert.deepStrictEqual(Object.keys(first.outputs.gateEndpoints.value), ["model-api"]);
    // Through the gate (the name the workload uses resolves to the gate listener): the mock model answers.
    const viaGate = await probeInside(id, { kind: "tcp", host: "model-api", port: 8080, send: "GET /v1/models HTTP/1.0\r\n\r\n" });
    assert.ok(viaGate.ok && /^HTTP\/1\.[01] /.test(viaGate.data), `model-api through the gate: ${JSON.stringify(viaGate)}`);
    // Around the gate: the target's own address has no route from inside; the host reaches it (control).
    const target = h.services!.targets["model-api"];
    const direct = await probeInside(id, { kind: "tcp", host: target.address, port: target.port });
    assert.ok(!direct.ok && direct.errno === ENETUNREACH, `the target bypassing the gate: ${JSON.stringify(direct)}`);
    const control = await probeFromHost({ kind: "tcp", host: target.address, port: target.port, send: "GET /v1/models HTTP/1.0\r\n\r\n" });
    assert.ok(control.ok, `host -> target (control): ${JSON.stringify(control)}`);
  });

  it("up again is a no-op: no change, same sandbox, same expiry (TTL not extended)", async () => {
    const pv = await stack.preview({ onOutput, diff: true });
    assert.deepStrictEqual(Object.keys(pv.changeSummary).filter((k) => k !== "same"), [], `preview after up plans changes: ${JSON.stringify(pv.changeSummary)}`);
    await new Promise((r) => setTimeout(r, 1100)); // "now + ttl" of this run differs from the first run's by > 1 s
    const again = await stack.up({ onOutput });
    assert.deepStrictEqual(changes(again), {}, `second up changed something: ${JSON.stringify(again.summary.resourceChanges)}`);
    assert.strictEqual(again.outputs.sandboxId.value, first.outputs.sandboxId.value);
    assert.strictEqual(again.outputs.expiresAt.value, first.outputs.expiresAt.value, "second up moved the expiry");
    assert.strictEqual(loadHandle(first.outputs.sandboxId.value)!.expiresAt, first.outputs.expiresAt.value, "the host's sandbox expiry differs from the stack's");
    const state = await stack.exportStack();
    const res = state.deployment.resources.find((r: any) => /dynamic/.test(r.type));
    assert.strictEqual(res.inputs.expiresAt, first.outputs.expiresAt.value, "the expiry in the stack's inputs moved (the next diff would see it)");
  });

  it("destroy removes the sandbox from the host entirely", async () => {
    const id = first.outputs.sandboxId.value as string;
    const d = await stack.destroy({ onOutput });
    assert.ok((d.summary.resourceChanges?.delete ?? 0) >= 2, `destroy deleted nothing: ${JSON.stringify(d.summary.resourceChanges)}`);
    assert.strictEqual(loadHandle(id), undefined, "the sandbox's handle is still there");
    assert.deepStrictEqual(await objectsOf(id), [], "host objects left after destroy (kernel view)");
    assert.deepStrictEqual(Object.keys(await stack.outputs()), [], "the stack still has outputs");
  });

  it("refresh after an out-of-band destroy notices the sandbox is gone", async () => {
    const up = await stack.up({ onOutput });
    const id = up.outputs.sandboxId.value as string;
    assert.ok(loadHandle(id));
    await destroySandboxById(id, "out of band (test)");
    assert.deepStrictEqual(await objectsOf(id), []);
    const r = await stack.refresh({ onOutput });
    assert.strictEqual(r.summary.resourceChanges?.delete, 1, `refresh did not drop the vanished sandbox: ${JSON.stringify(r.summary.resourceChanges)}`);
    const state = await stack.exportStack();
    assert.ok(!state.deployment.resources.some((x: any) => /dynamic/.test(x.type)), "the sandbox resource is still in the stack's state");
    // And the next preview plans to create it again (the stack knows it is missing).
    const pv = await stack.preview({ onOutput });
    assert.strictEqual(pv.changeSummary.create, 1, `after refresh, preview plans: ${JSON.stringify(pv.changeSummary)}`);
  });

  it("the stack removed, nothing is left in the backend", async () => {
    await stack.destroy({ onOutput });
    await stack.workspace.removeStack("local");
    assert.deepStrictEqual(backendStacks(stateDir), []);
    assert.deepStrictEqual(listHandles(), []);
  });
});
