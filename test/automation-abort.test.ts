// Aborting while the local sandbox is mid-create through the real engine (issue 9 §1, "on an
// AbortSignal, on SIGINT/SIGTERM"): the abort lands while the engine's `up` is creating the sandbox
// on this host (its network namespace already exists), in this process through an AbortSignal and in
// a child harness through SIGTERM. Afterwards the host is as it was before — compared from the
// kernel's and the file system's own view (test/helpers/kernel-view.ts: namespaces, links, nft tables,
// cgroup directories in every hierarchy, mounts, processes; plus the lease files and sandbox folders
// of the state directory), not through the sweeper's scanner — and the stack backend is consistent:
// no stack, no lock of the interrupted update left, and a new sandbox in the same stack name and
// backend is created and destroyed afterwards.
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn, spawnSync } from "child_process";
import { createSandbox, destroySandbox, liveSandboxes } from "../automation";
import { airlockObjects, HostObject, snapshot } from "./helpers/kernel-view";
import { backendStacks, engineStateDir, sampleSpec, TASK_DIR } from "./helpers/automation-fixtures";

const ROOT = path.resolve(__dirname, "..");

/** Regular files under a folder (relative paths); the per-kind folders a first lease makes (leases/net) are not state. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => fs.statSync(path.join(dir, f), { throwIfNoEntry: false })?.isFile())
    .sort();
}

interface HostState {
  objects: Map<string, HostObject>;
  files: string[];
}

/** The host as far as Airlock can change it, and the state dir's leases, sandboxes, handles. */
function hostState(stateDir: string): HostState {
  const objects = new Map(airlockObjects(snapshot()).map((o) => [`${o.kind}:${o.key}`, o]));
  const files = ["leases", "sandboxes", "handles"].flatMap((d) => filesUnder(path.join(stateDir, d)).map((f) => `${d}/${f}`));
  return { objects, files };
}

/**
 * What is on the host now and was not before, that this test could have made: objects named with
 * `tag` (every netns, nft table, cgroup and link of a sandbox carries its id, which starts with the
 * spec's name), processes started with this test's state dir, and new state files. Other tests of a
 * CI run sharing the host make their own objects, which are not named with `tag`.
 */
function leftSince(before: HostState, stateDir: string, tag: string): string[] {
  const now = hostState(stateDir);
  const out: string[] = [];
  for (const [k, o] of now.objects) {
    if (before.objects.has(k)) continue;
    const ours = o.label.includes(tag) || o.proc?.stateDir === stateDir || (o.proc?.argv ?? []).some((a) => a.includes(tag));
    if (ours) out.push(o.label);
  }
  for (const f of now.files) if (!before.files.includes(f)) out.push(`state file ${f}`);
  return out;
}

async function eventually(what: () => string[], ms: number): Promise<string[]> {
  const until = Date.now() + ms;
  let left = what();
  while (left.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 500));
    left = what();
  }
  return left;
}

/** Resolves once a network namespace named for a sandbox of `tag` exists: the sandbox is mid-create on the host. */
async function whenNamespaceExists(tag: string, giveUp: Promise<unknown>, ms = 240_000): Promise<string> {
  const until = Date.now() + ms;
  let done = false;
  void giveUp.then(() => (done = true), () => (done = true));
  while (Date.now() < until && !done) {
    const r = spawnSync("ip", ["netns", "list"], { encoding: "utf8" });
    const hit = r.stdout.split("\n").map((l) => l.split(" ")[0]).find((n) => n.startsWith(`airlock-${tag}`));
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no network namespace airlock-${tag}* appeared (the create ${done ? "ended first" : "did not get that far"})`);
}

/** The file backend is usable after the interruption: no lock left, `stack ls` works, a new sandbox in the same stack name comes and goes. */
async function assertBackendConsistent(stateDir: string, stackName: string, name: string): Promise<void> {
  assert.deepStrictEqual(backendStacks(stateDir), [], "stacks left in the file backend");
  const locks = filesUnder(path.join(stateDir, ".pulumi", "locks")).filter((f) => f.endsWith(".json"));
  assert.deepStrictEqual(locks, [], "the interrupted update's lock is still in the backend");
  const again = await createSandbox(sampleSpec(name), { engine: "pulumi", stateDir, taskDir: TASK_DIR, stackName });
  assert.strictEqual(again.stackName, stackName);
  await destroySandbox(again);
  assert.deepStrictEqual(backendStacks(stateDir), [], "stacks left after the new sandbox was destroyed");
}

describe("automation: abort while the sandbox is mid-create (AbortSignal, SIGTERM of the harness)", function () {
  this.timeout(15 * 60_000);
  let stateDir: string;
  engineStateDir("airlock-automation-abort-", (dir) => (stateDir = dir));

  it("an AbortSignal fired while `up` creates the sandbox rejects, leaves nothing on the host, and the backend stays usable", async () => {
    const tag = `abc${crypto.randomBytes(3).toString("hex")}`;
    const stackName = `${tag}-stack`;
    const appState = process.env.AIRLOCK_STATE_DIR!;
    const before = hostState(appState);
    const abort = new AbortController();
    const creating = createSandbox(sampleSpec(tag), { engine: "pulumi", stateDir, taskDir: TASK_DIR, stackName, signal: abort.signal });
    const ns = await whenNamespaceExists(tag, creating);
    abort.abort(new Error(`test aborts ${tag} mid-create (${ns} exists)`));
    await assert.rejects(creating, (e: any) => {
      assert.ok(/abort|cancel|interrupt|mid-create/i.test(String(e?.message)), `createSandbox rejected, but not for the abort: ${e?.message}`);
      return true;
    });
    assert.deepStrictEqual(liveSandboxes(), [], "the library still counts a live sandbox");
    const left = await eventually(() => leftSince(before, appState, tag), 60_000);
    assert.deepStrictEqual(left, [], "left on the host after the aborted create");
    await assertBackendConsistent(stateDir, stackName, tag);
    assert.deepStrictEqual(await eventually(() => leftSince(before, appState, tag), 60_000), [], "left on the host after the second sandbox");
  });

  it("SIGTERM of a child harness while its sandbox is mid-create: it exits 143, nothing is left on the host, the backend stays usable", async () => {
    const tag = `sgc${crypto.randomBytes(3).toString("hex")}`;
    const childState = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-automation-abort-child-"));
    const appState = process.env.AIRLOCK_STATE_DIR!;
    const before = hostState(appState);
    const child = spawn(process.execPath, [path.join(ROOT, "bin", "run-ts.js"), path.join(__dirname, "helpers", "automation-child.ts"), childState, "1", "1"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, AIRLOCK_CHILD_PREFIX: tag },
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
    try {
      await whenNamespaceExists(tag, exited);
      assert.ok(!/^RUNNING /m.test(out), "the child's sandbox was already running (not mid-create)");
      child.kill("SIGTERM");
      const x = await exited;
      assert.deepStrictEqual(x, { code: 143, signal: null }, `the child's exit after SIGTERM; stdout: ${out}\nstderr: ${err.slice(-3000)}`);
      assert.ok(!/^RUNNING /m.test(out), `the child ran its sample after SIGTERM: ${out}`);
      const left = await eventually(() => leftSince(before, appState, tag), 60_000);
      assert.deepStrictEqual(left, [], "left on the host after the SIGTERMed create");
      assert.deepStrictEqual(backendStacks(childState), [], "the child's stack is left in its backend");
      const locks = filesUnder(path.join(childState, ".pulumi", "locks")).filter((f) => f.endsWith(".json"));
      assert.deepStrictEqual(locks, [], "the interrupted update's lock is still in the child's backend");
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      if (backendStacks(childState).length === 0) fs.rmSync(childState, { recursive: true, force: true });
    }
  });
});
