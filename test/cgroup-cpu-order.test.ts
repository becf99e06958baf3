// cgroup v1 CPU limits are two files (cpu.cfs_quota_us, cpu.cfs_period_us): a change passes through
// one intermediate state, which must never be a wider limit than both the old and the new one
// (issue 10 §2: the old code wrote quota -1 first — for a moment no limit at all). Judged three ways:
//   1. on a v1-shaped stand-in tree, every state the files pass through (each write observed);
//   2. on the real kernel (this host's v1 cpu hierarchy), a poller in another process reading the
//      files during a ramp — with a positive control: the same poller catches the old writer's -1;
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

    /** Runs `fn`, recording the (quota, period) state after every write to the tree's CPU files. */
    function observed(fn: () => void): CpuLimit[] {
      const states: CpuLimit[] = [];
      const original = nodeFs.writeFileSync;
      nodeFs.writeFileSync = (file: any, data: any, ...rest: any[]) => {
        original(file, data, ...rest);
        if (typeof file === "string" && file.startsWith(root) && /cpu\.cfs_(quota|period)_us$/.test(file)) states.push(kernelCpu(cg));
      };
      try {
        fn();
      } finally {
        nodeFs.writeFileSync = original;
      }
      return states;
    }

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

  describe("on the real kernel's v1 cpu hierarchy: a poller in another process during a ramp", () => {
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

    // Reads period, quota, period as fast as it can; a sample counts when both period reads agree.
    const POLLER = String.raw`
import json, os, select, sys
d = sys.argv[1]
qf, pf = os.path.join(d, "cpu.cfs_quota_us"), os.path.join(d, "cpu.cfs_period_us")
def rd(f):
    with open(f) as h: return int(h.read())
print("ready", flush=True)
n, unlimited, worst, seen = 0, 0, 0.0, set()
while True:
    for _ in range(200):
        p1 = rd(pf); q = rd(qf); p2 = rd(pf)
        if p1 != p2: continue
        n += 1; seen.add((q, p1))
        if q == -1: unlimited += 1
        else: worst = max(worst, q / p1)
    if select.select([sys.stdin], [], [], 0)[0]: break
print(json.dumps({"samples": n, "unlimited": unlimited, "worst": worst, "distinct": len(seen)}), flush=True)
`;

    async function pollDuring(writeStep: (c: CpuLimit) => void, steps: CpuLimit[], rounds: number): Promise<{ samples: number; unlimited: number; worst: number; distinct: number }> {
      const dir = cg.dir("cpu");
      // A fresh cgroup starts unlimited: start the poller only once a limit of the ramp is in force.
      cg.setLimit("cpu", steps[steps.length - 1]);
      const child = spawn("python3", ["-c", POLLER, dir], { stdio: ["pipe", "pipe", "inherit"] });
      let out = "";
      child.stdout!.on("data", (d) => (out += d));
      await new Promise<void>((resolve) => child.stdout!.on("data", () => /ready/.test(out) && resolve()));
      for (let r = 0; r < rounds; r++) {
        for (const s of steps) writeStep(s);
        if (r % 20 === 19) await new Promise((res) => setImmediate(res)); // let the poller run on a busy host
      }
      child.stdin!.end("stop\n");
      await new Promise((r) => child.once("close", r));
      return JSON.parse(out.trim().split("\n").pop()!);
    }

    // Limited steps only: neither the old nor the new value of any step is unlimited.
    const LIMITED = RAMP.filter((c) => c.quotaUs !== null);
    const widest = Math.max(...LIMITED.map(ratio));

    it("the poller never sees quota -1 nor a ratio wider than the ramp's widest value", async () => {
      const r = await pollDuring((c) => cg.setLimit("cpu", c), LIMITED, 300);
      assert.ok(r.samples > 1000 && r.distinct >= LIMITED.length, `positive control: the poller saw only ${JSON.stringify(r)}`);
      assert.strictEqual(r.unlimited, 0, `the limit was lifted during the ramp: ${JSON.stringify(r)}`);
      assert.ok(r.worst <= widest + 1e-9, `a state wider than every requested limit: ${r.worst} > ${widest}`);
    });

    it("positive control: the same poller catches the old writer's quota -1", async () => {
      const dir = cg.dir("cpu");
      const old = (c: CpuLimit) => {
        fs.writeFileSync(path.join(dir, "cpu.cfs_quota_us"), "-1");
        fs.writeFileSync(path.join(dir, "cpu.cfs_period_us"), String(c.periodUs));
        fs.writeFileSync(path.join(dir, "cpu.cfs_quota_us"), String(c.quotaUs));
      };
      const r = await pollDuring(old, LIMITED, 300);
      assert.ok(r.unlimited > 0, `the poller did not catch the -1 window: ${JSON.stringify(r)}`);
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
