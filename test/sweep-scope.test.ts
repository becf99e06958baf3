// `airlock sweep` judges ownership host-wide (issue 10/13): a live owner anywhere on the host — whatever
// its AIRLOCK_STATE_DIR — protects its objects, even in the window between its network namespace and
// its anchor, when nothing but the owner registry (/run/airlock/owners, components/host/owners.ts)
// says it is owned; a dead owner's objects are recovered by a sweep of any state directory; and
// objects that only start with "airlock" (another run's test fixtures) are left alone. Judged from
// the kernel (helpers/kernel-view.ts), never by the sweeper's scanner; the runner is stopped inside the
// window by AIRLOCK_TEST_PAUSE_AT (components/host/test-pause.ts), not by timing.
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import * as YAML from "yaml";
import { verifyLog } from "../components/record/chain-log";
import { CliResult, describeResult, runCli, startCli } from "./helpers/local-cli";
import { objectsOfSandbox, snapshot, vethNamesOf } from "./helpers/kernel-view";
import { RUN_TAG } from "./helpers/run-scope";
import { skipBecause, waitFor } from "./helpers/common";

const PAUSE = "boundary:before-anchor";

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function procState(pid: number): string | undefined {
  try {
    return /^State:\s+(\S)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  } catch {
    return undefined;
  }
}

/** The journal's first line, read as a file (not through the code under test). */
function journalOpenLine(file: string): { owner: string; runner: { pid: number } } {
  return JSON.parse(fs.readFileSync(file, "utf8").split("\n")[0]);
}

function sweepReport(r: CliResult): any {
  assert.ok(r.code === 0 || r.code === 1, describeResult(r));
  return JSON.parse(r.stdout);
}

describe("airlock sweep is scoped by live owners host-wide, not by its state directory (issue 10/13)", function () {
  this.timeout(300_000);
  let stateB: string;
  let specDir: string;
  const runs: { child: { kill(s: NodeJS.Signals): boolean }; done: Promise<CliResult> }[] = [];

  before(function () {
    if (process.getuid?.() !== 0) skipBecause(this, "needs root: network namespaces, nft tables and the owner registry in /run");
    stateB = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-test-state-b-"));
    specDir = fs.mkdtempSync(path.join(os.tmpdir(), "specs-"));
  });

  after(async function () {
    this.timeout(120_000);
    for (const r of runs) {
      r.child.kill("SIGKILL");
      await r.done;
    }
    if (!stateB) return;
    // B's own sweep finishes whatever a failed test left of B.
    const r = await runCli(["sweep", "--json"], { env: { AIRLOCK_STATE_DIR: stateB } });
    assert.ok(r.code === 0 || r.code === 1, describeResult(r));
    fs.rmSync(stateB, { recursive: true, force: true });
    fs.rmSync(specDir, { recursive: true, force: true });
  });

  function spec(name: string, command: string[]): string {
    const file = path.join(specDir, `${name}.yaml`);
    fs.writeFileSync(file, YAML.stringify({ backend: "local", owner: "tests@airlock.dev", ttl: "10m", name, workload: { cpus: 1, memory: "128MiB", pids: 64, command } }));
    return file;
  }

  /** Starts `airlock run` in state dir B, stopped at the pause point; returns its sandbox id and runner pid. */
  async function pausedRunInB(name: string, command: string[]) {
    const run = startCli(["run", spec(name, command)], { env: { AIRLOCK_STATE_DIR: stateB, AIRLOCK_TEST_PAUSE_AT: PAUSE }, timeoutMs: 240_000 });
    runs.push(run);
    const journals = path.join(stateB, "journals");
    const file = await waitFor(`the journal of ${name}`, () => (fs.existsSync(journals) ? fs.readdirSync(journals).find((f) => f.startsWith(`${name}-`) && f.endsWith(".jsonl")) : undefined), 60_000, 5);
    const open = journalOpenLine(path.join(journals, file));
    await waitFor(`${name}'s runner (pid ${open.runner.pid}) to stop at ${PAUSE}`, () => procState(open.runner.pid) === "T", 60_000, 10);
    return { run, id: open.owner, pid: open.runner.pid };
  }

  it("a runner of another state directory stopped between its netns and its anchor keeps every object through a sweep, and completes; the same sweep removes a SIGKILLed one's", async () => {
    const live = await pausedRunInB("scopelive", ["sh", "-c", "echo scope-workload-ran"]);
    const dead = await pausedRunInB("scopedead", ["sleep", "60"]);
    const before = snapshot();
    const liveBefore = objectsOfSandbox(live.id, before);
    const deadBefore = objectsOfSandbox(dead.id, before);
    // Positive control of the window: the namespace and its veth exist, the anchor does not yet.
    for (const [who, objs, id] of [["live", liveBefore, live.id], ["dead", deadBefore, dead.id]] as const) {
      assert.ok(objs.includes(`netns airlock-${id}`), `${who}: no netns in the window: ${objs}`);
      assert.ok(objs.some((o) => o.startsWith(`link ${vethNamesOf(id)[0]}`)), `${who}: no host veth in the window: ${objs}`);
      assert.ok(!objs.some((o) => o.includes(`airlock-anchor-${id}`)), `${who}: the anchor already runs — not the window: ${objs}`);
    }
    dead.run.child.kill("SIGKILL");
    await dead.run.done;

    const r = await runCli(["sweep", "--json"]); // state dir A: this test run's
    const report = sweepReport(r);
    const after = snapshot();
    assert.deepStrictEqual(objectsOfSandbox(live.id, after), liveBefore, `the sweep touched a live sandbox of another state directory:\n${describeResult(r)}`);
    assert.ok(!report.orphansRemoved.some((o: string) => o.includes(live.id)), JSON.stringify(report.orphansRemoved));
    assert.deepStrictEqual(objectsOfSandbox(dead.id, after), [], `the same sweep left the dead runner's objects:\n${describeResult(r)}`);
    // Recovered through B's journal (replayed from A), not just scraped by name: B's record is sealed,
    // its sandbox directory and leases are gone.
    assert.ok(report.recovered.some((x: any) => x.owner === dead.id && x.action === "undone"), JSON.stringify(report.recovered));
    const rec = path.join(stateB, "records", `${dead.id}.jsonl`);
    assert.ok(verifyLog(rec).sealed, `B's record of the dead run is not sealed: ${rec}`);
    assert.ok(!fs.existsSync(path.join(stateB, "sandboxes", dead.id)), "B's sandbox directory of the dead run is left");
    for (const kind of ["net", "uid"]) {
      const dir = path.join(stateB, "leases", kind);
      const held = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => fs.readFileSync(path.join(dir, f), "utf8") === dead.id) : [];
      assert.deepStrictEqual(held, [], `B's ${kind} leases of the dead run are left`);
    }

    // The live one goes on from where it stopped: create completes, the workload runs, all is undone.
    process.kill(live.pid, "SIGCONT");
    const done = await live.run.done;
    assert.strictEqual(done.code, 0, describeResult(done));
    assert.ok(/scope-workload-ran/.test(done.stdout + done.stderr), describeResult(done));
    assert.deepStrictEqual(objectsOfSandbox(live.id), [], "the completed run left objects");
    assert.ok(verifyLog(path.join(stateB, "records", `${live.id}.jsonl`)).sealed);
  });

  it("after SIGKILL of a running owner of another state directory, a sweep of this one leaves 0 objects of it", async () => {
    const run = startCli(["run", spec("scoperun", ["sleep", "120"])], { env: { AIRLOCK_STATE_DIR: stateB } });
    runs.push(run);
    const recs = path.join(stateB, "records");
    const id = await waitFor("the workload to start", () => {
      const f = fs.existsSync(recs) ? fs.readdirSync(recs).find((n) => n.startsWith("scoperun-") && n.endsWith(".jsonl")) : undefined;
      return f && fs.readFileSync(path.join(recs, f), "utf8").includes('"workload-started"') ? f.replace(/\.jsonl$/, "") : undefined;
    }, 60_000);
    run.child.kill("SIGKILL");
    await run.done;
    // (Whether every process died with its owner is local-owner-death.test.ts's question; whatever
    // still runs is in the sandbox's cgroup, which the sweep removes with its processes.)
    let running: string[] = [];
    await waitFor("its processes to die with their owner", () => (running = objectsOfSandbox(id).filter((o) => o.startsWith("process "))).length === 0, 5000).catch(() => {
      process.stdout.write(`      note: still running 5 s after the owner's SIGKILL: ${running.map((l) => l.split("\n")[0]).join("; ")}\n`);
    });
    assert.ok(objectsOfSandbox(id).some((o) => o.startsWith("netns")), "positive control: the kill left host objects to sweep");
    const report = sweepReport(await runCli(["sweep", "--json"]));
    assert.deepStrictEqual(objectsOfSandbox(id), [], "the sweep left objects of the killed owner");
    assert.ok(report.recovered.some((x: any) => x.owner === id && x.action === "undone"), JSON.stringify(report.recovered));
    assert.ok(verifyLog(path.join(recs, `${id}.jsonl`)).sealed, "its record is not sealed");
  });

  it("objects that only start with airlock (another run's fixtures) are left alone; sandbox-shaped ones without an owner are removed", async () => {
    const orphan = `scopeorphan-${crypto.randomBytes(3).toString("hex")}`;
    const [oS, oT] = vethNamesOf(orphan);
    const fixture = { ns: `airlock-tf-scope-${RUN_TAG}`, a: `airlocktf${RUN_TAG}a`, b: `airlocktf${RUN_TAG}b` };
    try {
      sh("ip", ["netns", "add", `airlock-${orphan}`]);
      sh("nft", ["add", "table", "inet", `airlock-${orphan}`]);
      sh("ip", ["link", "add", oS, "type", "veth", "peer", "name", oT]); // no alias: the hashed name alone says whose
      sh("ip", ["netns", "add", fixture.ns]);
      sh("nft", ["add", "table", "inet", fixture.ns]);
      sh("ip", ["link", "add", fixture.a, "type", "veth", "peer", "name", fixture.b]);
      const report = sweepReport(await runCli(["sweep", "--json"]));
      const snap = snapshot();
      const netns = snap.netns.map((n) => n.name);
      const tables = snap.nftTables.map((t) => t.name);
      const links = snap.links.map((l) => l.ifname);
      assert.ok(!netns.includes(`airlock-${orphan}`) && !tables.includes(`airlock-${orphan}`), `the sandbox-shaped orphan was kept: ${JSON.stringify(report)}`);
      assert.ok(!links.includes(oS) && !links.includes(oT), `the unaliased Airlock-shaped veth was kept: ${JSON.stringify(report)}`);
      assert.ok(netns.includes(fixture.ns) && tables.includes(fixture.ns), `the fixture namespace or table was swept: ${JSON.stringify(report.orphansRemoved)}`);
      assert.ok(links.includes(fixture.a) && links.includes(fixture.b), `the fixture veth was swept: ${JSON.stringify(report.orphansRemoved)}`);
      assert.ok(report.skipped.some((s: string) => s.includes(fixture.ns)), `the fixture is not reported as left alone: ${JSON.stringify(report.skipped)}`);
    } finally {
      for (const args of [["ip", "netns", "del", `airlock-${orphan}`], ["nft", "delete", "table", "inet", `airlock-${orphan}`], ["ip", "link", "del", oS], ["ip", "netns", "del", fixture.ns], ["nft", "delete", "table", "inet", fixture.ns], ["ip", "link", "del", fixture.a]])
        spawnSync(args[0], args.slice(1));
    }
  });
});
