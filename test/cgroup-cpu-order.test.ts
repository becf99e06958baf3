// cgroup v1 CPU limits are two files (cpu.cfs_quota_us, cpu.cfs_period_us): a change passes through
// one intermediate state, which must never be a wider limit than both the old and the new one
// (issue 10 §2: the old code wrote quota -1 first — for a moment no limit at all). Judged three ways:
//   1. on a v1-shaped stand-in tree, every state the files pass through (each write observed);
//   2. on the real kernel (this host's v1 cpu hierarchy): the state read back after every write, and a
//      poller in another process reading the files during a ramp — each with a positive control that
//      catches the old writer's -1;
//   3. on a v2-shaped tree: cpu.max is one write, so there is no intermediate at all.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import { Cgroup, CpuLimit, detectCgroupHost } from "../components/host/cgroup";
import { kernelCpu } from "./helpers/chaos-cgroup-files";
import { RUN_TAG } from "./helpers/run-scope";
import { skipBecause } from "./helpers/common";

// The fs module itself (an `import * as` namespace is read-only): cgroup.ts reads its writeFileSync at
// each call, so a wrapper installed here sees every write it makes.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeFs: any = require("fs");

/** CPU per period; unlimited is Infinity. */
const ratio = (c: CpuLimit) => (c.quotaUs === null ? Infinity : c.quotaUs / c.periodUs);

/** Ramp steps with every kind of transition: period up and down, quota up and down, both at once, to and from unlimited. */
const RAMP: CpuLimit[] = [
  { quotaUs: 20_000, periodUs: 100_000 },
  { quotaUs: 50_000, periodUs: 200_000 }, // both up
  { quotaUs: 5_000, periodUs: 10_000 }, // both down, wider
  { quotaUs: 50_000, periodUs: 100_000 }, // both up, same ratio
  { quotaUs: 10_000, periodUs: 50_000 }, // both down, narrower
  { quotaUs: 90_000, periodUs: 1_000_000 }, // period up a lot, narrower
  { quotaUs: 80_000, periodUs: 100_000 }, // period down, wider
  { quotaUs: null, periodUs: 100_000 }, // to unlimited
  { quotaUs: 30_000, periodUs: 300_000 }, // from unlimited, period up
  { quotaUs: null, periodUs: 20_000 }, // to unlimited, period down
  { quotaUs: 10_000, periodUs: 100_000 }, // from unlimited
];

/**
 * Runs `fn`, reading (quota, period) back from `cg`'s files after every write it makes to a CPU file
 * under `under` — on a stand-in tree the files are the state; on the real kernel they are the kernel's.
 */
function statesAfterEachWrite(cg: Cgroup, under: string, fn: () => void): CpuLimit[] {
  const states: CpuLimit[] = [];
  const original = nodeFs.writeFileSync;
  nodeFs.writeFileSync = (file: any, data: any, ...rest: any[]) => {
    original(file, data, ...rest);
    if (typeof file === "string" && file.startsWith(under) && /cpu\.cfs_(quota|period)_us$/.test(file)) states.push(kernelCpu(cg));
  };
  try {
    fn();
  } finally {
    nodeFs.writeFileSync = original;
  }
  return states;
}

describe("cgroup v1 CPU limit writes never widen the limit in between (issue 10 §2)", function () {
  this.timeout(120_000);

  describe("on a v1-shaped stand-in tree: every intermediate state", () => {
    let root: string;
    let cg: Cgroup;
    beforeEach(() => {
      root = fs.mkdtempSync(path.join(os.tmpdir(), "cgroup-v1-tree-"));
      cg = new Cgroup({ mode: "v1", root, hybrid: false }, "airlock-x");
      const dir = path.join(root, "cpu", cg.rel);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, "cpu.cfs_quota_us"), "-1");
      fs.writeFileSync(path.join(dir, "cpu.cfs_period_us"), "100000");
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    const observed = (fn: () => void) => statesAfterEachWrite(cg, root, fn);

    it("each step of a ramp passes only through states no wider than the old or the new limit, and ends at the new one", () => {
      let prev = kernelCpu(cg);
      let writes = 0;
      for (const next of RAMP) {
        const states = observed(() => cg.setLimit("cpu", next));
        writes += states.length;
        assert.ok(states.length >= 1 && states.length <= 2, `${JSON.stringify(prev)} -> ${JSON.stringify(next)}: ${states.length} writes`);
        const bound = Math.max(ratio(prev), ratio(next));
        for (const s of states) assert.ok(ratio(s) <= bound, `${JSON.stringify(prev)} -> ${JSON.stringify(next)} passed through ${JSON.stringify(s)} (wider than both)`);
        assert.deepStrictEqual(states[states.length - 1], next);
        // A failed second write leaves the first state: between two limits, never no limit at all.
        if (next.quotaUs !== null && prev.quotaUs !== null) assert.notStrictEqual(states[0].quotaUs, null, `${JSON.stringify(prev)} -> ${JSON.stringify(next)} lifted the limit first`);
        prev = next;
      }
      assert.ok(writes > RAMP.length, "positive control: the ramp had two-write steps to judge");
    });

    it("an unchanged limit writes nothing", () => {
      cg.setLimit("cpu", RAMP[0]);
      assert.deepStrictEqual(observed(() => cg.setLimit("cpu", RAMP[0])), []);
    });

    it("positive control: the old writer (quota -1 first) is caught by the same observer", () => {
      cg.setLimit("cpu", RAMP[0]);
      const dir = path.join(root, "cpu", cg.rel);
      const states = observed(() => {
        fs.writeFileSync(path.join(dir, "cpu.cfs_quota_us"), "-1");
        fs.writeFileSync(path.join(dir, "cpu.cfs_period_us"), String(RAMP[1].periodUs));
        fs.writeFileSync(path.join(dir, "cpu.cfs_quota_us"), String(RAMP[1].quotaUs));
      });
      assert.ok(states.some((s) => s.quotaUs === null), JSON.stringify(states));
    });
  });

  describe("on the real kernel's v1 cpu hierarchy", () => {
    const host = detectCgroupHost();
    let cg: Cgroup;
    before(function () {
      if (host.mode !== "v1") skipBecause(this, "this host is cgroup v2: cpu.max is one write (the v2-shaped case below covers it)");
      if (process.getuid?.() !== 0) skipBecause(this, "needs root to create a cgroup");
      cg = new Cgroup(host, `airlock-chaostest-${RUN_TAG}-cpuorder`);
      cg.create();
    });
    after(async () => {
      await cg?.remove();
    });

    // Limited steps only: neither the old nor the new value of any step is unlimited.
    const LIMITED = RAMP.filter((c) => c.quotaUs !== null);
    const widest = Math.max(...LIMITED.map(ratio));

    /** The old writer (issue 10 §2): quota -1 first, then the period, then the quota. */
    const oldWriter = (c: CpuLimit) => {
      const dir = cg.dir("cpu");
      fs.writeFileSync(path.join(dir, "cpu.cfs_quota_us"), "-1");
      fs.writeFileSync(path.join(dir, "cpu.cfs_period_us"), String(c.periodUs));
      fs.writeFileSync(path.join(dir, "cpu.cfs_quota_us"), String(c.quotaUs));
    };

    describe("every state the kernel holds after each write (read back from its files)", () => {
      const kernelStates = (fn: () => void) => statesAfterEachWrite(cg, cg.dir("cpu"), fn);

      it("a ramp passes only through states no wider than the old or the new limit, and the kernel ends at each new one", () => {
        cg.setLimit("cpu", LIMITED[LIMITED.length - 1]);
        let prev = kernelCpu(cg);
        let twoWriteSteps = 0;
        for (const next of LIMITED) {
          const states = kernelStates(() => cg.setLimit("cpu", next));
          if (states.length === 2) twoWriteSteps++;
          const bound = Math.max(ratio(prev), ratio(next));
          for (const s of states) {
            assert.notStrictEqual(s.quotaUs, null, `${JSON.stringify(prev)} -> ${JSON.stringify(next)} lifted the limit`);
            assert.ok(ratio(s) <= bound, `${JSON.stringify(prev)} -> ${JSON.stringify(next)}: the kernel held ${JSON.stringify(s)} (wider than both)`);
          }
          assert.deepStrictEqual(kernelCpu(cg), next);
          prev = next;
        }
        assert.ok(twoWriteSteps > 0, "positive control: the ramp had two-write steps to judge");
      });

      it("positive control: the old writer leaves the kernel unlimited in between", () => {
        cg.setLimit("cpu", LIMITED[0]);
        const states = kernelStates(() => oldWriter(LIMITED[1]));
        assert.ok(states.some((s) => s.quotaUs === null), JSON.stringify(states));
      });
    });

    describe("a poller in another process reading the files during a ramp", () => {
      // Reads period, quota, period as fast as it can. A sample counts only when both period reads agree
      // and the writer's step counter (a seqlock) is the same before and after: then all three reads fell
      // within one step, whose writes change the period at most once, so (quota, period) is a state the
      // kernel really held. Without the counter a sample can be torn across steps (the ramp cycles, so
      // the period can leave and come back between the two reads — seen under load as 0.9 from
      // quota 90000 of 90000/1000000 read beside period 100000).
      const POLLER = String.raw`
import json, os, select, sys
d, seqf = sys.argv[1], sys.argv[2]
qf, pf = os.path.join(d, "cpu.cfs_quota_us"), os.path.join(d, "cpu.cfs_period_us")
sfd = os.open(seqf, os.O_RDONLY)
def rd(f):
    with open(f) as h: return int(h.read())
def seq(): return os.pread(sfd, 16, 0)
print("ready", flush=True)
n, unlimited, worst, seen, torn = 0, 0, 0.0, set(), 0
while True:
    for _ in range(200):
        s1 = seq(); p1 = rd(pf); q = rd(qf); p2 = rd(pf); s2 = seq()
        if s1 != s2 or p1 != p2:
            torn += 1; continue
        n += 1; seen.add((q, p1))
        if q == -1: unlimited += 1
        else: worst = max(worst, q / p1)
    print(json.dumps({"samples": n, "unlimited": unlimited, "worst": worst, "distinct": len(seen), "torn": torn}), flush=True)
    if select.select([sys.stdin], [], [], 0)[0]: break
`;
      type PollResult = { samples: number; unlimited: number; worst: number; distinct: number; torn: number };

      /**
       * Cycles `steps` through `writeStep` while the poller reads, until `enough` holds for its latest
       * report (after at least `minRounds` rounds) or `capMs` passes — the count is what is judged, so a
       * loaded host just takes longer instead of failing the positive control.
       */
      async function pollDuring(writeStep: (c: CpuLimit) => void, steps: CpuLimit[], minRounds: number, enough: (r: PollResult) => boolean, capMs = 60_000): Promise<PollResult> {
        const dir = cg.dir("cpu");
        // A fresh cgroup starts unlimited: start the poller only once a limit of the ramp is in force.
        cg.setLimit("cpu", steps[steps.length - 1]);
        const seqFile = path.join(fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir(), `airlock-cpuorder-seq-${RUN_TAG}-${process.pid}`);
        fs.writeFileSync(seqFile, "0".padStart(15, "0"));
        const seqFd = fs.openSync(seqFile, "r+");
        let seq = 0;
        const bump = () => fs.writeSync(seqFd, String(++seq).padStart(15, "0"), 0);
        const child = spawn("python3", ["-c", POLLER, dir, seqFile], { stdio: ["pipe", "pipe", "inherit"] });
        // Only the poller's latest complete report is kept (it prints one per 200 reads).
        let pending = "";
        let report: PollResult | null = null;
        let ready = false;
        const latest = () => report;
        try {
          await new Promise<void>((resolve) =>
            child.stdout!.on("data", (d) => {
              const lines = (pending + d).split("\n");
              pending = lines.pop()!;
              for (const l of lines) {
                if (l.startsWith("{")) report = JSON.parse(l);
                else if (l === "ready") ready = true;
              }
              if (ready) resolve();
            }),
          );
          const deadline = Date.now() + capMs;
          for (let r = 0; ; r++) {
            for (const s of steps) {
              bump();
              writeStep(s);
              bump();
            }
            if (r % 20 === 19) {
              await new Promise((res) => setImmediate(res)); // let the poller's reports in, and the poller run on a busy host
              const now = latest();
              if ((r >= minRounds && now && enough(now)) || Date.now() > deadline) break;
            }
          }
          child.stdin!.end("stop\n");
          await new Promise((r) => child.once("close", r));
          return latest()!;
        } finally {
          child.kill("SIGKILL");
          fs.closeSync(seqFd);
          fs.rmSync(seqFile, { force: true });
        }
      }

      it("the poller never sees quota -1 nor a ratio wider than the ramp's widest value", async () => {
        const r = await pollDuring((c) => cg.setLimit("cpu", c), LIMITED, 300, (p) => p.samples > 1000 && p.distinct >= LIMITED.length);
        assert.ok(r.samples > 1000 && r.distinct >= LIMITED.length, `positive control: in 60 s the poller saw only ${JSON.stringify(r)}`);
        assert.strictEqual(r.unlimited, 0, `the limit was lifted during the ramp: ${JSON.stringify(r)}`);
        assert.ok(r.worst <= widest + 1e-9, `a state wider than every requested limit: ${r.worst} > ${widest} (${JSON.stringify(r)})`);
      });

      it("positive control: the same poller catches the old writer's quota -1", async () => {
        const r = await pollDuring(oldWriter, LIMITED, 300, (p) => p.unlimited > 0);
        assert.ok(r.unlimited > 0, `the poller did not catch the -1 window in 60 s: ${JSON.stringify(r)}`);
      });
    });
  });

  describe("on a v2-shaped tree: cpu.max is one write", () => {
    it("every ramp step is a single write of cpu.max with the new value", () => {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), "cgroup-v2-tree-"));
      try {
        const cg = new Cgroup({ mode: "v2", root, hybrid: false }, "airlock-x");
        fs.mkdirSync(path.join(root, cg.rel));
        fs.writeFileSync(path.join(root, cg.rel, "cpu.max"), "max 100000");
        const writes: string[] = [];
        const original = nodeFs.writeFileSync;
        nodeFs.writeFileSync = (file: any, data: any, ...rest: any[]) => {
          original(file, data, ...rest);
          if (typeof file === "string" && file.startsWith(root)) writes.push(`${path.basename(file)}=${data}`);
        };
        try {
          for (const c of RAMP) cg.setLimit("cpu", c);
        } finally {
          nodeFs.writeFileSync = original;
        }
        assert.deepStrictEqual(writes, RAMP.map((c) => `cpu.max=${c.quotaUs === null ? "max" : c.quotaUs} ${c.periodUs}`));
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    });
  });
});
