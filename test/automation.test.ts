// The Automation API (automation/, issue 9 §1) through the REAL Pulumi engine, many at once:
//   - 20 sandboxes of the local backend, 5 at a time (runMany -> withSandbox), each running a command
//     inside (sandbox.exec) that checks its gate: the upstream answers through the gate, the target's
//     own address has no route; afterwards nothing of them is on the host (the kernel's view, scoped
//     to this run) and no stack is left in the file backend;
//   - the same with half of them aborted mid-way: in this process through an AbortSignal (while the
//     sandbox runs), and in a child harness process through SIGTERM once its sandboxes are running.
// The engine is the one bin/setup-tests.d/20-pulumi-engine.sh builds (or the user's own): no skip when
// it is missing — `npm test`'s pretest builds it, and requirePulumi's error says how to get one.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import { runMany, withSandbox, liveSandboxes, ProgressEvent, Sandbox } from "../automation";
import { airlockObjects, sandboxObjects, snapshot } from "./helpers/kernel-view";
import { scope } from "./helpers/run-scope";
import { backendStacks, engineStateDir, gateCheckCommand, sampleSpec, targetOf, TASK_DIR } from "./helpers/automation-fixtures";

const ENETUNREACH = 101;
const ROOT = path.resolve(__dirname, "..");

/** Runs the gate check inside the sandbox and asserts both halves of it. */
async function checkGate(sb: Sandbox): Promise<void> {
  assert.deepStrictEqual(Object.keys(sb.outputs.gateEndpoints), ["model-api"], "the sandbox's gate endpoints");
  const t = await targetOf(sb);
  const r = await sb.exec(gateCheckCommand(t.address, t.port));
  assert.strictEqual(r.code, 0, `gate check in ${sb.outputs.sandboxId} exited ${r.code}: ${r.stderr}`);
  const seen = JSON.parse(r.stdout.trim().split("\n").pop()!);
  assert.strictEqual(seen.gate, 200, `model-api through the gate from ${sb.outputs.sandboxId}: ${r.stdout}`);
  assert.strictEqual(seen.direct, ENETUNREACH, `the target's own address ${t.address}:${t.port} bypassing the gate from ${sb.outputs.sandboxId}: ${r.stdout}`);
}

/** Nothing of these sandboxes (nor anything else of this run) on the host, and no stack in the backend. */
function assertAllGone(ids: string[], stateDir: string): void {
  assert.ok(ids.length > 0, "no sandbox ids to check (the run created nothing?)");
  const snap = snapshot();
  const left = ids.flatMap((id) => sandboxObjects(id, snap).map((o) => `${id}: ${o.label}`));
  assert.deepStrictEqual(left, [], "host objects of the sandboxes left (kernel view)");
  const { own } = scope(airlockObjects(snap), snap);
  assert.deepStrictEqual(own.map((o) => o.label), [], "host objects of this test run left (kernel view, run scope)");
  assert.deepStrictEqual(backendStacks(stateDir), [], "stacks left in the file backend");
  assert.deepStrictEqual(liveSandboxes(), [], "the library still counts live sandboxes");
}

describe("automation: withSandbox through the real engine, 20 at concurrency 5, and aborted half-way", function () {
  this.timeout(30 * 60_000); // engine up ~12 s each on an idle host; this host is shared and loaded
  let stateDir: string;
  engineStateDir("airlock-automation-test-", (dir) => (stateDir = dir));

  it("20 sandboxes, 5 at a time: each runs a command inside and reaches its upstream only through the gate; nothing is left", async () => {
    const specs = Array.from({ length: 20 }, (_, i) => sampleSpec(`auto-${i}`));
    const events: ProgressEvent[] = [];
    let running = 0;
    let peak = 0;
    const summary = await runMany(specs, { engine: "pulumi", stateDir, taskDir: TASK_DIR, concurrency: 5, onProgress: (e) => events.push(e) }, async (sb) => {
      running++;
      peak = Math.max(peak, running);
      try {
        assert.strictEqual(sb.via, "pulumi");
        assert.ok(sb.stackName && backendStacks(stateDir).some((f) => f.includes(sb.stackName!)), `stack ${sb.stackName} is not in the backend while its sandbox runs`);
        await checkGate(sb);
        return sb.outputs.sandboxId;
      } finally {
        running--;
      }
    });
    process.stdout.write(`      20x5 through the engine: wall ${(summary.wallMs / 1000).toFixed(1)} s\n`);
    assert.deepStrictEqual(summary.results.filter((r) => !r.ok).map((r) => `${r.name}: ${(r as any).reason}`), []);
    assert.strictEqual(summary.succeeded, 20);
    assert.ok(peak <= 5, `more than 5 sandboxes ran at once (${peak})`);
    // Concurrency is judged over each sandbox's whole life (created .. destroyed), not only the short
    // callback: on an idle host a 1 s callback need not overlap another's, though five sandboxes live at once.
    let live = 0;
    let peakLive = 0;
    for (const e of events) {
      if (e.kind === "created") peakLive = Math.max(peakLive, ++live);
      if (e.kind === "destroyed") live--;
    }
    assert.ok(peakLive <= 5, `more than 5 sandboxes were alive at once (${peakLive})`);
    assert.ok(peakLive >= 2, `the run was not concurrent: never two sandboxes alive at once (peak ${peakLive})`);
    const ids = summary.results.map((r) => r.outputs!.sandboxId);
    assert.strictEqual(new Set(ids).size, 20, "sandbox ids are not unique");
    for (const kind of ["created", "running", "destroyed"]) assert.strictEqual(events.filter((e) => e.kind === kind).length, 20, `${kind} events`);
    assertAllGone(ids, stateDir);
  });

  it("10 sandboxes, 5 at a time, half aborted through an AbortSignal while they run: all destroyed, nothing is left", async () => {
    const ids: string[] = [];
    const outcomes: string[] = new Array(10);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < 10; i = next++) {
        const abort = new AbortController();
        const aborted = i % 2 === 1;
        try {
          await withSandbox(
            sampleSpec(`abort-${i}`),
            async (sb, signal) => {
              ids.push(sb.outputs.sandboxId);
              await checkGate(sb);
              if (!aborted) return "done";
              setTimeout(() => abort.abort(new Error(`test aborts sample ${i}`)), 200);
              await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true })); // a sample that would run on
              return "ran past its abort";
            },
            { engine: "pulumi", stateDir, taskDir: TASK_DIR, signal: abort.signal },
          );
          outcomes[i] = "done";
        } catch (e) {
          outcomes[i] = `rejected: ${(e as Error).message}`;
        }
      }
    };
    await Promise.all(Array.from({ length: 5 }, worker));
    assert.deepStrictEqual(
      outcomes,
      outcomes.map((_, i) => (i % 2 === 1 ? `rejected: test aborts sample ${i}` : "done")),
    );
    assert.strictEqual(ids.length, 10);
    assertAllGone(ids, stateDir);
  });

  it("a child harness SIGTERMed while its sandboxes run destroys them all and exits 143; nothing is left", async () => {
    const childState = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-automation-child-"));
    // 4 samples, 2 at a time: SIGTERM once the first 2 run, so half never start and half are torn down mid-way.
    const child = spawn(process.execPath, [path.join(ROOT, "bin", "run-ts.js"), path.join(__dirname, "helpers", "automation-child.ts"), childState, "4", "2"], { stdio: ["ignore", "pipe", "pipe"], env: process.env });
    let out = "";
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (d) => {
          out += d;
          if ((out.match(/^RUNNING /gm) ?? []).length >= 2) resolve();
        });
        void exited.then((x) => reject(new Error(`the child exited early (${JSON.stringify(x)}): ${out}\n${err.slice(-3000)}`)));
      });
      const running = [...out.matchAll(/^RUNNING (\S+) (\S+) (.*)$/gm)];
      for (const [, id, , check] of running) {
        const seen = JSON.parse(check);
        assert.strictEqual(seen.gate, 200, `child sandbox ${id} through the gate: ${check}`);
        assert.strictEqual(seen.direct, ENETUNREACH, `child sandbox ${id} bypassing the gate: ${check}`);
        assert.ok(sandboxObjects(id).length > 0, `child sandbox ${id} has no host objects while it runs (kernel view)`);
      }
      assert.strictEqual(backendStacks(childState).length, 2, `the child's backend while 2 run: ${backendStacks(childState)}`);
      child.kill("SIGTERM");
      const x = await exited;
      assert.deepStrictEqual(x, { code: 143, signal: null }, `the child's exit after SIGTERM; stderr: ${err.slice(-3000)}`);
      assert.ok(!/^DONE /m.test(out), "the child's run went on after SIGTERM");
      assertAllGone(running.map((m) => m[1]), childState);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      if (backendStacks(childState).length === 0) fs.rmSync(childState, { recursive: true, force: true });
    }
  });

  it("a child harness whose event loop runs dry while its sandbox is live destroys it before Node exits", async () => {
    const childState = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-automation-child-"));
    try {
      const child = spawn(process.execPath, [path.join(ROOT, "bin", "run-ts.js"), path.join(__dirname, "helpers", "automation-child.ts"), childState, "1", "1", "drain"], { stdio: ["ignore", "pipe", "pipe"], env: process.env });
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (err += d));
      const x = await new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
      const running = [...out.matchAll(/^RUNNING (\S+) /gm)].map((m) => m[1]);
      assert.strictEqual(running.length, 1, `the child never ran its sandbox: ${out}\n${err.slice(-3000)}`);
      assert.deepStrictEqual(x, { code: 0, signal: null }, `the child's exit; stderr: ${err.slice(-3000)}`);
      assertAllGone(running, childState);
    } finally {
      if (backendStacks(childState).length === 0) fs.rmSync(childState, { recursive: true, force: true });
    }
  });
});
