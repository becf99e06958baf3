// Signal-safe bench cleanup (bench/teardown.ts, issue 10): a bench signalled at any point undoes what it
// made and exits 128+signo. Nothing here waits on a clock: each case waits for the line a process
// prints once it has made something (the fixture's "made …", a real bench's AIRLOCK_BENCH_TRACE line),
// then signals it, and judges the host from the kernel's own view afterwards (test/helpers/kernel-view.ts,
// scoped to this run by test/helpers/run-scope.ts), not through the code under test.
//   - the fixture (bench/fixtures/teardown-fixture.ts): a real netns, cgroup and Toxiproxy proxy, and a
//     create under way when the signal lands; SIGINT -> 130, SIGTERM -> 143, nothing left, nothing new
//     made after the signal, every undo printed;
//   - positive control: the same objects made with try/finally survive a SIGTERM (then removed here);
//   - real benches: the chaos bench through the runner (`npm run bench -- chaos`, SIGTERM to the runner's
//     pid alone), and the cli bench (its loops are synchronous) signalled directly.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ChildProcess, spawn, spawnSync } from "child_process";
import { airlockObjects, objectsOfSandbox, snapshot } from "./helpers/kernel-view";
import { RUN_TAG, scope } from "./helpers/run-scope";
import { Cgroup, detectCgroupHost } from "../components/host/cgroup";
import { skipBecause } from "./helpers/common";

const ROOT = path.resolve(__dirname, "..");
const RUN_TS = path.join(ROOT, "bin", "run-ts.js");
const FIXTURE = path.join(ROOT, "bench", "fixtures", "teardown-fixture.ts");
const fixtureName = (n: number) => `airlock-tf-benchsig-${RUN_TAG}-${n}`;

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first line (stdout or stderr) matching `re`; rejects if the process exits first. */
  waitFor(re: RegExp): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Every process a case started: one still running when its case ends (a failed case) is killed. */
const started: ChildProcess[] = [];

function start(argv: string[], env: NodeJS.ProcessEnv = {}): Run {
  const child = spawn(process.execPath, argv, { cwd: ROOT, env: { ...process.env, AIRLOCK_BENCH_TRACE: "1", ...env }, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const scan = () => {
    for (const w of [...waiters]) {
      const line = (out + "\n" + err).split("\n").find((l) => w.re.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  started.push(child);
  child.stdout!.on("data", (d) => ((out += d), scan()));
  child.stderr!.on("data", (d) => ((err += d), scan()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on("close", (code, signal) => r({ code, signal })));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (re) =>
      Promise.race([
        new Promise<string>((resolve) => {
          waiters.push({ re, resolve });
          scan();
        }),
        exited.then((e) => {
          throw new Error(`exited (${e.code ?? e.signal}) before printing ${re}\n--- stdout\n${out}\n--- stderr\n${err}`);
        }),
      ]),
  };
}

const describeRun = (r: Run) => `--- stdout\n${r.stdout()}\n--- stderr\n${r.stderr()}`;

/** This run's Airlock host objects (run-scope), by kind and key. */
function ownObjects(): Map<string, string> {
  const snap = snapshot();
  return new Map(scope(airlockObjects(snap), snap).own.map((o) => [`${o.kind}:${o.key}`, o.label]));
}

/** Objects of this run that were not there before. */
function newSince(before: Map<string, string>): string[] {
  return [...ownObjects()].filter(([k]) => !before.has(k)).map(([, label]) => label);
}

const netnsExists = (name: string) => spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout.split("\n").some((l) => l.split(" ")[0] === name);
const fixtureCgroup = (n: number) => new Cgroup(detectCgroupHost(), fixtureName(n));
/** Running (a zombie waiting for init to reap it is gone). */
const alive = (pid: number) => {
  try {
    return !/^\S+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

describe("bench teardown on signals (bench/teardown.ts)", function () {
  this.timeout(240_000);
  before(function () {
    if (process.getuid?.() !== 0) skipBecause(this, "needs root (network namespaces, cgroups, local sandboxes)");
  });

  let baseline: Map<string, string>;
  beforeEach(() => (baseline = ownObjects()));
  afterEach(() => {
    for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  });

  it("SIGINT while a create is under way: the create finishes and is undone with everything else, nothing new is made, exit 130", async () => {
    const r = start([RUN_TS, FIXTURE]);
    await r.waitFor(/^made toxiproxy (\d+)/);
    const toxiproxyPid = Number(/^made toxiproxy (\d+)/m.exec(r.stdout())![1]);
    await r.waitFor(new RegExp(`^creating netns ${fixtureName(4)}`));
    assert.ok(netnsExists(fixtureName(1)) && fixtureCgroup(2).exists() && alive(toxiproxyPid), "the fixture's objects exist before the signal");
    r.child.kill("SIGINT");
    await r.waitFor(/SIGINT received/);
    r.child.stdin!.write("go\n"); // lets the create under way finish after the signal
    const e = await r.exited;
    assert.strictEqual(e.code, 130, describeRun(r));
    for (const what of [`netns ${fixtureName(1)}`, `cgroup ${fixtureName(2)}`, `toxiproxy pid ${toxiproxyPid}`, `netns ${fixtureName(4)}`])
      assert.match(r.stderr(), new RegExp(`undone: ${what.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`), describeRun(r));
    assert.match(r.stdout(), new RegExp(`made netns ${fixtureName(4)}`), "the create under way completed");
    assert.doesNotMatch(r.stdout(), new RegExp(`made netns ${fixtureName(5)}`), "nothing is made after the signal");
    assert.ok(!netnsExists(fixtureName(1)) && !netnsExists(fixtureName(4)) && !netnsExists(fixtureName(5)), "namespaces removed");
    assert.ok(!fixtureCgroup(2).exists(), "cgroup removed");
    assert.ok(!alive(toxiproxyPid), "toxiproxy stopped (its proxy with it)");
    assert.deepStrictEqual(newSince(baseline), []);
  });

  it("SIGTERM once everything is made: exit 143, every object undone and named", async () => {
    const r = start([RUN_TS, FIXTURE]);
    await r.waitFor(/^creating netns/);
    r.child.stdin!.write("go\n");
    await r.waitFor(/^ready/);
    const toxiproxyPid = Number(/^made toxiproxy (\d+)/m.exec(r.stdout())![1]);
    r.child.kill("SIGTERM");
    const e = await r.exited;
    assert.strictEqual(e.code, 143, describeRun(r));
    assert.match(r.stderr(), /undid 5 thing\(s\) it made, nothing left; exit 143/, describeRun(r));
    assert.ok(![1, 4, 5].some((n) => netnsExists(fixtureName(n))) && !fixtureCgroup(2).exists() && !alive(toxiproxyPid));
    assert.deepStrictEqual(newSince(baseline), []);
  });

  it("positive control: the same objects made with try/finally are left behind by a SIGTERM", async () => {
    const r = start([RUN_TS, FIXTURE, "unguarded"]);
    await r.waitFor(/^ready/);
    const toxiproxyPid = Number(/^made toxiproxy (\d+)/m.exec(r.stdout())![1]);
    r.child.kill("SIGTERM");
    const e = await r.exited;
    try {
      assert.strictEqual(e.signal, "SIGTERM", describeRun(r));
      assert.ok(netnsExists(fixtureName(1)), "netns left");
      assert.ok(fixtureCgroup(2).exists(), "cgroup left");
      assert.ok(alive(toxiproxyPid), "toxiproxy left running");
      assert.ok(newSince(baseline).length >= 3, `the leftover check sees them: ${newSince(baseline).join(", ")}`);
    } finally {
      spawnSync("ip", ["netns", "del", fixtureName(1)]);
      await fixtureCgroup(2).remove();
      if (alive(toxiproxyPid)) process.kill(toxiproxyPid, "SIGKILL");
      while (alive(toxiproxyPid)) await new Promise((res) => setImmediate(res));
    }
    assert.deepStrictEqual(newSince(baseline), []);
  });

  it("the chaos bench through the runner: SIGTERM to the runner's pid alone reaches the bench once; it undoes its fake sandbox, exits 143, no further bench runs", async () => {
    const r = start([RUN_TS, path.join(ROOT, "bench", "index.ts"), "chaos"]);
    await r.waitFor(/bench chaos: made fake sandbox/);
    const made = newSince(baseline);
    assert.ok(made.length > 0, "the bench's Toxiproxy gate and workload cgroup are on the host");
    r.child.kill("SIGTERM");
    const e = await r.exited;
    assert.strictEqual(e.code, 143, describeRun(r));
    assert.match(r.stderr(), /bench chaos: SIGTERM received/, describeRun(r));
    assert.match(r.stderr(), /undone: fake sandbox/, describeRun(r));
    assert.match(r.stderr(), /nothing left; exit 143/, describeRun(r));
    assert.match(r.stdout(), /interrupted: remaining benches not run/, describeRun(r));
    assert.deepStrictEqual(newSince(baseline), [], describeRun(r));
  });

  it("the cli bench (synchronous measuring loops) signalled directly: its detached sandbox is destroyed, exit 130", async () => {
    const r = start([RUN_TS, path.join(ROOT, "bench", "cli.bench.ts")]);
    const line = await r.waitFor(/bench cli: made sandbox (\S+)/);
    const id = /made sandbox (\S+)/.exec(line)![1];
    assert.ok(objectsOfSandbox(id).length > 0, `sandbox ${id} is on the host`);
    r.child.kill("SIGINT");
    const e = await r.exited;
    assert.strictEqual(e.code, 130, describeRun(r));
    assert.match(r.stderr(), new RegExp(`undone: sandbox ${id}`), describeRun(r));
    // The sandbox's own objects (the shared supervisor that owned it exits by itself once idle; the
    // suite's leftover check sees it if it did not).
    assert.deepStrictEqual(objectsOfSandbox(id), [], describeRun(r));
  });
});
