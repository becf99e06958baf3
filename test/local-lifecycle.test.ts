// The local backend end to end, through the `airlock` CLI as a subprocess (and the Pulumi provider):
// run, signals during a run, SIGKILL and recovery, detached sandboxes through the supervisor, and the
// errors a researcher sees when something is wrong before anything is created.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { spawnSync } from "child_process";
import { handleFile, listHandles, loadHandle, LocalSandboxHandle } from "../components/local/handle";
import { verifyLog } from "../components/record/chain-log";
import { identityFor } from "../components/naming";
import { stateDir } from "../components/host/state";
import { localSandboxProvider } from "../components/local/component";
import { waitSupervisorGone, runningSupervisor } from "../components/local/supervisor-client";
import { buildStackGraph } from "../components/invariants/mock-graph";
import { loadSpecFile } from "../components/spec";
import { objectsOf, recordEntries, waitFor, assertNoObjectsOf, skipBecause } from "./helpers/local-sandbox";
import { CliResult, describeResult, ROOT, runCli, startCli } from "./helpers/local-cli";
import { objectsOfSandbox, snapshot, vethNamesOf } from "./helpers/kernel-view";
import { ownSandboxIds } from "./helpers/run-scope";
import { INTERNET, METADATA, probeFromHost, TEST_FWMARK, TestNetwork } from "./helpers/local-network";

let specDir: string;

function writeSpec(name: string, doc: Record<string, unknown>): string {
  const file = path.join(specDir, `${name}.yaml`);
  fs.writeFileSync(file, YAML.stringify({ backend: "local", owner: "tests@airlock.dev", ttl: "10m", name, ...doc }));
  return file;
}

const sleeper = (name: string) => writeSpec(name, { workload: { cpus: 1, memory: "128MiB", pids: 64, command: ["sleep", "120"] } });

/** The handle of the sandbox a running `airlock run` (pid) owns, once its workload has started. */
async function runningSandboxOf(pid: number): Promise<LocalSandboxHandle> {
  const h = await waitFor(`the sandbox of airlock run (pid ${pid})`, () => listHandles().find((x) => x.supervisor?.pid === pid), 30_000);
  await waitFor("the workload to start", () => recordEntries(h.record).some((e) => e.type === "workload-started"), 15_000);
  return h;
}

/**
 * The sweep's report, after checking it left nothing of `ids` behind and failed on nothing of theirs.
 * `airlock sweep` judges the whole host: its exit 1 for someone else's leftover (another checkout's
 * test objects it could not remove) is noted, not counted against this run.
 */
function sweptClean(r: CliResult, ids: string[]): any {
  assert.ok(r.code === 0 || r.code === 1, describeResult(r));
  const report = JSON.parse(r.stdout);
  const names = ids.flatMap((id) => [id, ...vethNamesOf(id)]);
  const mine = (line: string) => names.some((n) => line.includes(n));
  const problems = [...report.leftovers, ...report.failures];
  assert.deepStrictEqual(problems.filter(mine), [], `the sweep left or failed on this run's objects:\n${describeResult(r)}`);
  if (r.code === 1) {
    assert.ok(problems.length > 0, `exit 1 without a reason:\n${describeResult(r)}`);
    process.stdout.write(`      note: the sweep exited 1 for objects this run did not create: ${problems.join("; ")}\n`);
  }
  return report;
}

/** Whether a supervisor started with this state directory still runs (read from /proc, not from the code under test). */
function foreignSupervisorAlive(stateDir: string): boolean {
  return snapshot().processes.some((p) => p.stateDir === stateDir && p.argv.some((a) => /supervisor/.test(a)));
}

function lastEvents(record: string, n: number) {
  return recordEntries(record).slice(-n);
}

describe("local sandbox: CLI lifecycle, signals, recovery, supervisor, Pulumi", function () {
  this.timeout(120_000);

  before(() => {
    specDir = fs.mkdtempSync(path.join(os.tmpdir(), "specs-"));
  });

  after(async () => {
    fs.rmSync(specDir, { recursive: true, force: true });
    // Whatever a failed test left: the sweeper is the tool for that (and must leave nothing).
    const r = await runCli(["sweep", "--json"]);
    sweptClean(r, [...ownSandboxIds()]);
    assert.ok(await waitSupervisorGone(15_000), "the supervisor did not exit after its last sandbox");
  });

  it("airlock run examples/quickstart.yaml: the model API works through the gate, the rest is blocked, the record verifies", async () => {
    // Stand-ins for what the agent tries to reach (its internet address, DNS, metadata), so "blocked"
    // is measured against hosts that exist and answer: positive controls from the host first.
    const fixtures = new TestNetwork();
    await fixtures.start();
    try {
      const controls = {
        internet: await probeFromHost({ kind: "tcp", host: INTERNET.quickstart, port: INTERNET.tcpPort }),
        dns: await probeFromHost({ kind: "dns", host: INTERNET.dns, name: "example.com" }),
        metadata: await probeFromHost({ kind: "tcp", host: METADATA.v4, port: METADATA.port, mark: TEST_FWMARK, send: "GET /latest/meta-data/ HTTP/1.0\r\n\r\n" }),
      };
      for (const [what, c] of Object.entries(controls)) assert.ok(c.ok, `positive control (${what} from the host): ${JSON.stringify(c)}`);
      const hitsBefore = fixtures.hits.length;

      // The quickstart as shipped, told this run's stand-in addresses (its target's env: the
      // stand-ins are per run, test/helpers/local-network.ts) — a copy beside its own task files.
      const copy = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-quickstart-"));
      const doc = YAML.parse(fs.readFileSync(path.join(ROOT, "examples", "quickstart.yaml"), "utf8"));
      doc.targets[0].env = { ...doc.targets[0].env, QUICKSTART_INTERNET: INTERNET.quickstart, QUICKSTART_OUTSIDE_DNS: INTERNET.dns };
      doc.chaos.experiment = path.join(ROOT, "examples", doc.chaos.experiment);
      fs.writeFileSync(path.join(copy, "quickstart.yaml"), YAML.stringify(doc));
      fs.cpSync(path.join(ROOT, "examples", "quickstart"), path.join(copy, "quickstart"), { recursive: true });
      fs.chmodSync(copy, 0o755);
      const r = await runCli(["run", path.join(copy, "quickstart.yaml"), "--json"]).finally(() => fs.rmSync(copy, { recursive: true, force: true }));
      assert.strictEqual(r.code, 0, describeResult(r));
      const s = JSON.parse(r.stdout);
      assert.strictEqual(s.ok, true);
      assert.strictEqual(s.killedBy, null);
      // What the agent itself saw (its own lines, not Airlock's accounting): one call allowed, and
      // each blocked one with the operating system's reason, well before the agent's 5 s timeout.
      const calls = [...r.stderr.matchAll(/^\s+(ALLOWED|BLOCKED)\s+(.+?)\s+([\d.]+) ms\s+(.*)$/gm)].map((m) => ({ verdict: m[1], why: m[2].trim(), ms: Number(m[3]), detail: m[4] }));
      const expected: [RegExp, RegExp][] = [
        [/an internet address, directly/, /Network is unreachable/],
        [/the cloud metadata service/, /Network is unreachable/],
        [/DNS through the configured resolver/, /gaierror/],
        [/DNS to an outside resolver/, /Network is unreachable/],
        [/another port on the gate host \(ssh\)/, /ConnectionRefusedError/],
        [/the gate host's Toxiproxy admin port/, /ConnectionRefusedError/],
        [/^IPv6$/, /OSError|unreachable|Cannot assign/],
        [/a raw socket/, /PermissionError/],
      ];
      assert.deepStrictEqual(calls.filter((c) => c.verdict === "ALLOWED").map((c) => c.why), ["the model API, through the egress gate"], r.stderr);
      for (const [why, detail] of expected) {
        const c = calls.find((x) => why.test(x.why));
        assert.ok(c, `the agent did not report '${why}':\n${r.stderr}`);
        assert.strictEqual(c!.verdict, "BLOCKED", `${c!.why}: ${c!.detail}`);
        assert.match(c!.detail, detail, c!.why);
        assert.ok(c!.ms < 5000 / 3, `${c!.why} took ${c!.ms} ms to fail (the agent's timeout is 5 s)`);
      }
      assert.strictEqual(calls.length, 9, r.stderr);
      // ... and it tried this run's stand-ins, the hosts the positive controls reached.
      assert.ok(calls.find((c) => /an internet address/.test(c.why))!.detail.endsWith(`[${INTERNET.quickstart}:${INTERNET.tcpPort}]`), r.stderr);
      assert.ok(calls.find((c) => /DNS to an outside resolver/.test(c.why))!.detail.endsWith(`[${INTERNET.dns}]`), r.stderr);
      // The stand-in hosts' own logs: nothing from the run reached them.
      assert.deepStrictEqual(fixtures.hits.slice(hitsBefore), [], "a stand-in host was reached from the sandbox");
      // Airlock's own summary agrees (checked after, and not instead of, the above).
      assert.strictEqual(s.allowed[0].upstream, "model-api");
      assert.ok(s.allowed[0].connections >= 3, `gate connections: ${s.allowed[0].connections}`);
      const blocked = Object.fromEntries(s.blocked.map((b: any) => [b.what, b.count]));
      assert.ok(blocked["no route"] >= 3, JSON.stringify(blocked)); // internet, metadata, outside DNS
      assert.ok(blocked["rejected tcp"] >= 2, JSON.stringify(blocked)); // the gate host's ssh and admin ports
      assert.ok(/agent: 1 allowed, 8 blocked/.test(r.stderr), r.stderr);
      // The spec names a chaos experiment (300 ms on the model API for 6 s): it ran to its end, and the
      // agent's own timed calls saw the fault arrive and leave again — judged against the same run's
      // calls before the fault, not against fixed numbers.
      assert.ok(s.chaos && !s.chaos.aborted && !s.chaos.error && !s.chaos.skipped, JSON.stringify(s.chaos));
      assert.ok(fs.existsSync(s.chaos.reportPath), s.chaos.reportPath);
      const timings = (/timing a model call[^\n]*\n\s+([^\n]+)/.exec(r.stderr)?.[1] ?? "").split(/\s+/).map(Number).filter((n) => !Number.isNaN(n));
      const quiet = Math.min(...timings);
      assert.ok(timings.filter((ms) => ms >= quiet + 250).length >= 3, `no calls delayed by the 300 ms fault in ${timings.join(" ")}`);
      assert.ok(timings.slice(-3).every((ms) => ms < quiet + 250), `latency did not recover: ${timings.join(" ")}`);
      const v = await runCli(["log", "verify", s.record, "--json"]);
      assert.strictEqual(v.code, 0, describeResult(v));
      assert.strictEqual(JSON.parse(v.stdout).head, s.head);
      await assertNoObjectsOf(s.id);
    } finally {
      await fixtures.stop();
    }
  });

  it("airlock run examples/quickstart-canary.yaml: reading the canary kills the run (exit 137) and the record says why", async () => {
    const r = await runCli(["run", "examples/quickstart-canary.yaml", "--json"]);
    assert.strictEqual(r.code, 137, describeResult(r));
    const s = JSON.parse(r.stdout);
    assert.strictEqual(s.killedBy.rule, "canary");
    assert.strictEqual(s.canaries.touched, true);
    assert.ok(!/never printed/.test(r.stderr));
    assert.ok(recordEntries(s.record).some((e) => e.type === "kill" && (e.data as any).rule === "canary"));
    await assertNoObjectsOf(s.id);
  });

  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    it(`${signal} during airlock run destroys the sandbox before exiting (${code})`, async () => {
      const run = startCli(["run", sleeper(`sig${code}`)]);
      const h = await runningSandboxOf(run.child.pid!);
      assert.ok((await objectsOf(h.id)).length >= 6, "the sandbox was not fully built");
      run.child.kill(signal);
      const r = await run.done;
      assert.strictEqual(r.code, code, describeResult(r));
      await assertNoObjectsOf(h.id);
      const tail = lastEvents(h.record, 2);
      assert.deepStrictEqual(tail.map((e) => e.type), ["destroyed", "sealed"]);
      assert.strictEqual((tail[0].data as any).reason, `${signal} received`);
      assert.ok(verifyLog(h.record).ok);
      assert.ok(!loadHandle(h.id), "the handle is still listed");
    });
  }

  it("after SIGKILL of airlock run, the sandbox is orphaned (workload gone with its owner) and airlock sweep removes every leftover", async () => {
    const run = startCli(["run", sleeper("killed")]);
    const h = await runningSandboxOf(run.child.pid!);
    // The workload itself running in its cgroup and namespace (the kernel's view), not just "started" in the record.
    await waitFor("the workload in its cgroup", async () => (await objectsOf(h.id)).some((o) => /^process \d+ sleep 120 \(by cgroup, netns\)/.test(o)), 10_000);
    run.child.kill("SIGKILL");
    await run.done;
    const left = await objectsOf(h.id);
    assert.ok(left.some((o) => o.startsWith("netns")), `expected leftovers after SIGKILL: ${left}`);
    // --die-with-parent and PR_SET_PDEATHSIG: nothing of the sandbox runs on without its owner — not
    // the workload, the anchor, the targets, nor the gate (issue 10: it used to run on as root).
    let running: string[] = [];
    await waitFor("every process of the sandbox to die with its owner", async () => (running = (await objectsOf(h.id)).filter((o) => o.startsWith("process "))).length === 0, 5000).catch((e) => {
      throw new Error(`${e.message}; still running: ${running.join("; ")}`);
    });
    const r = await runCli(["sweep", "--json"]);
    const report = sweptClean(r, [h.id]);
    assert.ok(report.recovered.some((x: any) => x.owner === h.id && x.action === "undone"), JSON.stringify(report.recovered));
    await assertNoObjectsOf(h.id);
    const v = verifyLog(h.record);
    assert.ok(v.ok && v.sealed, v.problems.join("; "));
    assert.strictEqual((lastEvents(h.record, 2)[0].data as any).recovered, true);
  });

  it("after SIGKILL, the next airlock run recovers the dead run's sandbox before creating its own", async () => {
    const run = startCli(["run", sleeper("killed2")]);
    const h = await runningSandboxOf(run.child.pid!);
    run.child.kill("SIGKILL");
    await run.done;
    assert.ok((await objectsOf(h.id)).length > 0);
    const next = await runCli(["run", writeSpec("next", { workload: { cpus: 1, memory: "128MiB", pids: 64, command: ["true"] } })]);
    assert.strictEqual(next.code, 0, describeResult(next));
    await assertNoObjectsOf(h.id);
    assert.ok(verifyLog(h.record).sealed);
  });

  it("sandbox create / exec / list / destroy: a detached sandbox owned by the supervisor", async () => {
    const spec = writeSpec("detached", { workload: { cpus: 1, memory: "128MiB", pids: 64, command: ["sleep", "300"] } });
    const created = await runCli(["sandbox", "create", spec, "--json"]);
    assert.strictEqual(created.code, 0, describeResult(created));
    const { id } = JSON.parse(created.stdout);
    try {
      const sup = runningSupervisor();
      assert.ok(sup, "no supervisor runs");
      assert.strictEqual(loadHandle(id)?.supervisor?.pid, sup!.process.pid, "the supervisor does not own the sandbox");

      const ex = await runCli(["sandbox", "exec", id, "--", "sh", "-c", "id -u; echo to-stderr >&2; exit 7"]);
      assert.strictEqual(ex.code, 7, describeResult(ex));
      assert.strictEqual(ex.stdout.trim(), String(loadHandle(id)!.workloadUser!.uid));
      assert.ok(/to-stderr/.test(ex.stderr));
      const piped = await runCli(["sandbox", "exec", id, "--", "tr", "a-z", "A-Z"], { input: "hello sandbox\n" });
      assert.strictEqual(piped.stdout, "HELLO SANDBOX\n", describeResult(piped));

      const list = await runCli(["sandbox", "list", "--json"]);
      const entry = JSON.parse(list.stdout).find((s: any) => s.id === id);
      assert.ok(entry && entry.state === "running" && entry.processes >= 1, list.stdout);

      const rec = recordEntries(loadHandle(id)!.record);
      assert.ok(rec.some((e) => e.type === "exec-exited" && (e.data as any).status === 7), "exec not recorded");
      assert.ok(rec.some((e) => e.type === "output" && /HELLO SANDBOX/.test((e.data as any).text)), "exec output not recorded");
    } finally {
      const d = await runCli(["sandbox", "destroy", id, "--json"]);
      assert.strictEqual(d.code, 0, describeResult(d));
      assert.strictEqual(JSON.parse(d.stdout).via, "supervisor");
    }
    await assertNoObjectsOf(id);
    assert.ok(await waitSupervisorGone(10_000), "the supervisor did not exit once it owned nothing");
    const gone = await runCli(["sandbox", "exec", id, "--", "true"]);
    assert.strictEqual(gone.code, 1);
    assert.ok(/no local sandbox/.test(gone.stderr) && /fix:/.test(gone.stderr), gone.stderr);
  });

  it("airlock sweep destroys an expired sandbox and leaves a live one — and another state directory's — untouched (read from the kernel)", async () => {
    const spec = (name: string) => writeSpec(name, { workload: { cpus: 1, memory: "128MiB", pids: 64, command: ["sleep", "300"] } });
    const otherState = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-other-state-"));
    const other = { env: { AIRLOCK_STATE_DIR: otherState } };
    const ids: { expiring?: string; keeper?: string; foreign?: string } = {};
    try {
      for (const [key, name, o] of [["expiring", "expiring", {}], ["keeper", "keeper", {}], ["foreign", "byhand", other]] as const) {
        const c = await runCli(["sandbox", "create", spec(name), "--json"], o);
        assert.strictEqual(c.code, 0, describeResult(c));
        ids[key] = JSON.parse(c.stdout).id;
      }
      // The expiring sandbox's clock runs out: its handle (the contract the sweeper reads) says it expired a minute ago.
      const file = handleFile(ids.expiring!);
      const h = JSON.parse(fs.readFileSync(file, "utf8"));
      fs.writeFileSync(file, JSON.stringify({ ...h, expiresAt: new Date(Date.now() - 60_000).toISOString() }));
      const snap = snapshot();
      const before = { keeper: objectsOfSandbox(ids.keeper!, snap), foreign: objectsOfSandbox(ids.foreign!, snap), expiring: objectsOfSandbox(ids.expiring!, snap) };
      for (const [k, v] of Object.entries(before)) assert.ok(v.some((l) => l.startsWith("netns")) && v.some((l) => /\(by cgroup/.test(l)), `${k} was not fully up: ${v}`);

      const r = await runCli(["sweep", "--json"]);
      const report = sweptClean(r, [ids.expiring!, ids.keeper!]);
      assert.deepStrictEqual(report.expired, [ids.expiring], JSON.stringify(report));
      assert.ok(report.live.includes(ids.keeper), `the live sandbox is not reported live: ${JSON.stringify(report.live)}`);
      // The kernel's view: the expired one is gone, the two live ones have exactly what they had (same processes too).
      assert.deepStrictEqual(objectsOfSandbox(ids.expiring!), [], "the expired sandbox left objects behind");
      const after = snapshot();
      assert.deepStrictEqual(objectsOfSandbox(ids.keeper!, after), before.keeper, "the sweep touched the live sandbox");
      assert.deepStrictEqual(objectsOfSandbox(ids.foreign!, after), before.foreign, "the sweep touched another state directory's sandbox");
      const tail = recordEntries(h.record).slice(-2);
      assert.deepStrictEqual(tail.map((e) => e.type), ["destroyed", "sealed"]);
      assert.strictEqual((tail[0].data as any).reason, "expired (sweep)");
      // And both still work.
      for (const [id, o] of [[ids.keeper!, {}], [ids.foreign!, other]] as const) {
        const ex = await runCli(["sandbox", "exec", id, "--", "sh", "-c", "echo alive"], o);
        assert.strictEqual(ex.stdout.trim(), "alive", describeResult(ex));
      }
    } finally {
      for (const [id, o] of [[ids.keeper, {}], [ids.expiring, {}], [ids.foreign, other]] as const) if (id) await runCli(["sandbox", "destroy", id, "--json"], o);
      await waitFor("the other state directory's supervisor to exit", () => !fs.existsSync(otherState) || !foreignSupervisorAlive(otherState), 15_000);
      fs.rmSync(otherState, { recursive: true, force: true });
    }
    if (ids.foreign) assert.deepStrictEqual(objectsOfSandbox(ids.foreign), [], "the hand-made sandbox was not destroyed at the end");
  });

  it("an invalid spec is refused with every problem listed (exit 2), before anything is created", async () => {
    const bad = writeSpec("bad", { workload: { cpus: 1, memroy: "1GiB", command: ["true"] }, ttl: "forever", egress: { allow: [{ name: "x", via: "endpoint", service: "s3", port: 443 }] } });
    const r = await runCli(["run", bad]);
    assert.strictEqual(r.code, 2, describeResult(r));
    for (const needle of ["workload.memroy", "did you mean 'memory'", "ttl", "egress.allow[0].via"]) assert.ok(r.stderr.includes(needle), `missing '${needle}' in:\n${r.stderr}`);
    assert.ok(!/\n\s+at /.test(r.stderr), "a stack trace was printed");
    const missing = await runCli(["run", path.join(specDir, "nope.yaml")]);
    assert.strictEqual(missing.code, 2, describeResult(missing));
    assert.ok(/cannot read/.test(missing.stderr));
  });

  it("not root: a clear error with the fix, no stack trace (runs as nobody)", async function () {
    if (!fs.existsSync("/usr/sbin/runuser")) skipBecause(this, "runuser (util-linux) is not installed");
    const r = await runCli(["run", "examples/quickstart.yaml"], { wrap: ["runuser", "-u", "nobody", "--"] });
    assert.strictEqual(r.code, 1, describeResult(r));
    assert.ok(/needs root privileges/.test(r.stderr) && /fix: run it as root/.test(r.stderr), r.stderr);
    assert.ok(!/\n\s+at /.test(r.stderr), "a stack trace was printed");
  });

  it("a missing host tool (nft not on PATH): a clear error naming the Debian package", async () => {
    // findTool also looks in /usr/sbin and /sbin, so nft is hidden there too, in a private mount namespace.
    const nft = spawnSync("sh", ["-c", "command -v nft"], { encoding: "utf8" }).stdout.trim() || "/usr/sbin/nft";
    const pathWithoutNft = (process.env.PATH ?? "").split(":").filter((d) => !fs.existsSync(path.join(d, "nft"))).join(":");
    const hide = ["unshare", "--mount", "--propagation", "private", "sh", "-c", 'mount --bind /dev/null "$0" && exec "$@"', fs.realpathSync(nft)];
    const r = await runCli(["run", "examples/quickstart.yaml"], { wrap: hide, env: { PATH: pathWithoutNft } });
    assert.strictEqual(r.code, 1, describeResult(r));
    assert.ok(/host tool 'nft' is not installed/.test(r.stderr) && /fix: apt-get install nftables/.test(r.stderr), r.stderr);
  });

  it("log verify: exit 0 on an intact record, 1 with the problem on a tampered one", async () => {
    const run = await runCli(["run", writeSpec("tamper", { workload: { cpus: 1, memory: "128MiB", pids: 64, command: ["sh", "-c", "echo one; echo two"] } }), "--json"]);
    assert.strictEqual(run.code, 0, describeResult(run));
    const { record, head } = JSON.parse(run.stdout);
    assert.ok(/^[0-9a-f]{64}$/.test(head), `airlock run published no head: ${run.stdout}`);
    // The intact record: exit 0, against its own .head file and against the head `airlock run` printed.
    for (const args of [[record], [record, "--head", head]]) {
      const ok = await runCli(["log", "verify", ...args]);
      assert.strictEqual(ok.code, 0, describeResult(ok));
      assert.ok(new RegExp(`^ok: \\d+ entries, sealed, head ${head}$`, "m").test(ok.stdout), ok.stdout);
    }
    // The same record with a wrong published head is not intact (the check above could fail).
    const wrongHead = await runCli(["log", "verify", record, "--head", "0".repeat(64)]);
    assert.strictEqual(wrongHead.code, 1, describeResult(wrongHead));
    const copy = path.join(specDir, "tampered.jsonl");
    const lines = fs.readFileSync(record, "utf8").split("\n");
    const i = lines.findIndex((l) => l.includes('"type":"output"'));
    assert.ok(i >= 0 && lines[i].includes("one"), `no output line with 'one' in ${record}`);
    lines[i] = lines[i].replace("one", "eno");
    fs.writeFileSync(copy, lines.join("\n"));
    fs.copyFileSync(`${record}.head`, `${copy}.head`);
    const bad = await runCli(["log", "verify", copy]);
    assert.strictEqual(bad.code, 1, describeResult(bad));
    assert.ok(/NOT INTACT/.test(bad.stdout) && new RegExp(`line ${i + 1}: hash does not match`).test(bad.stdout), bad.stdout);
  });

  describe("Pulumi (stacks/Pulumi.local.yaml)", () => {
    it("the program registers the local component and a dynamic-provider resource for the stack's spec (mocks)", async () => {
      const g = await buildStackGraph("local");
      const component = g.graph.nodes.find((n) => n.type === "airlock:local:Sandbox");
      const resource = g.graph.nodes.find((n) => n.type === "pulumi-nodejs:dynamic/airlock:LocalSandbox");
      assert.ok(component && resource, `registered: ${g.graph.nodes.map((n) => n.type).join(", ")}`);
      assert.strictEqual(resource!.parent, component!.urn);
      assert.deepStrictEqual(resource!.inputs.spec.name, "quickstart");
      assert.ok(/^quickstart-[0-9a-f]{6}$/.test(resource!.inputs.sandboxName), resource!.inputs.sandboxName);
      assert.strictEqual(resource!.inputs.taskDir, path.join(ROOT, "examples", "quickstart"));
      // The provider was serialized (what `pulumi up` ships to the provider host) and calls the library.
      assert.ok(typeof resource!.inputs.__provider === "string" && /supervisedCreate/.test(resource!.inputs.__provider));
    });

    it("the dynamic provider's create and delete build and remove a real sandbox", async () => {
      const spec = loadSpecFile(path.join(ROOT, "stacks", "Pulumi.local.yaml"));
      const identity = identityFor(spec);
      const inputs = { spec, sandboxName: identity.id, expiresAt: identity.expiresAt.toISOString(), owner: identity.owner, taskDir: path.join(ROOT, "examples", "quickstart"), stateDir: stateDir(), root: ROOT };
      const created = await localSandboxProvider.create!(inputs);
      assert.strictEqual(created.id, identity.id);
      try {
        assert.ok(loadHandle(created.id), "no handle");
        assert.strictEqual(created.outs.recordLocation, loadHandle(created.id)!.record);
        assert.ok(/^10\.77\.\d+\.\d+:8080$/.test(created.outs.gateEndpoints["model-api"]), JSON.stringify(created.outs.gateEndpoints));
        // The stack's workload (the quickstart agent) runs under the supervisor.
        await waitFor("the agent's last line in the record", () => recordEntries(created.outs.recordLocation).some((e) => e.type === "output" && /1 allowed, 8 blocked/.test((e.data as any).text)), 20_000);
        assert.deepStrictEqual(await localSandboxProvider.read!(created.id, created.outs), { id: created.id, props: created.outs });
      } finally {
        await localSandboxProvider.delete!(created.id, created.outs);
      }
      await assertNoObjectsOf(created.id);
      assert.deepStrictEqual(await localSandboxProvider.read!(created.id, created.outs), {});
      await localSandboxProvider.delete!(created.id, created.outs); // idempotent
      assert.ok(verifyLog(created.outs.recordLocation).sealed);
    });
  });
});
