// Experiment validation: every problem reported at once, each with its field path, the value and a
// fix, before anything is applied; the shipped examples are valid.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { validateExperiment, ValidationContext } from "../chaos/experiment/validate";
import { ExperimentError } from "../chaos/experiment/issues";
import { loadExperiment } from "../chaos/experiment/load";
import type { SpecIssue } from "../components/spec/issues";

const MiB = 2 ** 20;

/** A target with one upstream 'api', cgroup v1 (hybrid), the workload using 100 MiB, disk vda = 254:0. */
const V1_TARGET: ValidationContext = {
  hasGate: true,
  hasCgroup: true,
  upstreams: ["api"],
  cgroup: { mode: "v1", hybrid: true, supports: { cpu: true, "memory.max": true, "memory.high": "cgroup v1 has no memory.high", "pids.max": true, io: true }, memoryCurrent: 100 * MiB },
  blockDevices: { vda: "254:0", loop0: "7:0" },
  packetLoss: { netem: { upstream: "no sch_netem", downstream: "no sch_netem" }, toxiproxy: "no packet_loss toxic" },
};

function issuesOf(doc: unknown, ctx: ValidationContext = V1_TARGET): SpecIssue[] {
  const r = validateExperiment(doc, ctx);
  return r.ok ? [] : r.issues;
}

function find(issues: SpecIssue[], pathText: string, message: RegExp): SpecIssue {
  const hit = issues.find((i) => i.path === pathText && message.test(i.message));
  assert.ok(hit, `expected an issue at ${pathText} matching ${message}; got:\n${issues.map((i) => `${i.path}: ${i.message} — ${i.fix}`).join("\n")}`);
  assert.ok(hit.fix.length > 10, `issue at ${pathText} has no usable fix: '${hit.fix}'`);
  return hit;
}

const ok = (extra: object) => ({ name: "tst", actions: [{ fault: "latency", upstream: "api", duration: "5s", params: { latency: "10ms" } }], ...extra });

describe("chaos experiment validation", () => {
  it("reports every listed bad input at once, each with its own path, value and fix", () => {
    const doc = {
      name: "all-wrong",
      maxDuration: "10m",
      actions: [
        /* 0 unknown toxic  */ { fault: "latncy", upstream: "api", duration: "10s", params: { latency: "50ms" } },
        /* 1 negative dur.  */ { fault: "latency", upstream: "api", start: "30s", duration: "-5s", params: { latency: "50ms" } },
        /* 2 CPU quota 0    */ { fault: "cpu", duration: "10s", params: { quota: 0 } },
        /* 3 and 4 overlap  */ { name: "slow-a", fault: "latency", upstream: "api", start: "0s", duration: "20s", params: { latency: "50ms" } },
        { name: "slow-b", fault: "latency", upstream: "api", start: "10s", duration: "20s", params: { latency: "80ms" } },
        /* 5 memory < use   */ { fault: "memory-max", start: "40s", duration: "10s", params: { limit: "64MiB" } },
      ],
    };
    const issues = issuesOf(doc);
    const unknown = find(issues, "actions[0].fault", /unknown fault/);
    assert.match(unknown.fix, /did you mean 'latency'/);
    assert.equal(unknown.value, "latncy");
    const negative = find(issues, "actions[1].duration", /negative duration/);
    assert.equal(negative.value, "-5s");
    const zero = find(issues, "actions[2].params.quota", /CPU quota of 0/);
    assert.equal(zero.value, 0);
    const overlap = find(issues, "actions[4]", /overlaps action 'slow-a'/);
    assert.match(overlap.message, /latency toxic on gate proxy 'api'/);
    const memory = find(issues, "actions[5].params.limit", /below the workload's current memory use \(100\.0MiB\)/);
    assert.match(memory.fix, /force: true/);
    assert.equal(issues.length, 5, `exactly these five problems, got:\n${issues.map((i) => `${i.path}: ${i.message}`).join("\n")}`);
  });

  it("accepts a memory limit below current use with force: true, and one above it without", () => {
    const base = { fault: "memory-max", duration: "10s" };
    assert.deepEqual(issuesOf({ name: "mem", actions: [{ ...base, params: { limit: "64MiB", force: true } }] }), []);
    assert.deepEqual(issuesOf({ name: "mem", actions: [{ ...base, params: { limit: "256MiB" } }] }), []);
  });

  it("overlap is about the same resource: other stream, other fault type, or back-to-back windows are fine", () => {
    const lat = (start: string, extra: object = {}) => ({ fault: "latency", upstream: "api", start, duration: "10s", params: { latency: "10ms" }, ...extra });
    assert.deepEqual(issuesOf({ name: "ovl", actions: [lat("0s"), lat("5s", { stream: "upstream" })] }), []);
    assert.deepEqual(issuesOf({ name: "ovl", actions: [lat("0s"), { fault: "bandwidth", upstream: "api", start: "5s", duration: "10s", params: { rate: "64KiB/s" } }] }), []);
    assert.deepEqual(issuesOf({ name: "ovl", actions: [lat("0s"), lat("10s")] }), []);
    const cpu = (start: string) => ({ fault: "cpu", start, duration: "10s", params: { quota: "50%" } });
    find(issuesOf({ name: "ovl", actions: [cpu("0s"), cpu("9s")] }), "actions[1]", /overlaps .* cgroup cpu/);
  });

  it("finds overlaps created by schedules (a repeated window running into a fixed one)", () => {
    const doc = {
      name: "sched",
      actions: [
        { name: "every", fault: "pids", duration: "10s", params: { max: 64 }, repeat: { every: "30s", until: "2m" } },
        { name: "fixed", fault: "pids", start: "65s", duration: "10s", params: { max: 32 } },
      ],
    };
    find(issuesOf(doc), "actions[1]", /overlaps action 'every'/);
  });

  it("enforces the maximum duration: default, explicit, and the hard cap", () => {
    find(issuesOf(ok({ maxDuration: "3h" })), "maxDuration", /above the hard cap of 2h/);
    const long = { name: "long", maxDuration: "1m", actions: [{ fault: "cpu", start: "50s", duration: "30s", params: { quota: "50%" } }] };
    find(issuesOf(long), "actions[0]", /longer than maxDuration 1m/);
    const r = validateExperiment(ok({}), V1_TARGET);
    assert.ok(r.ok);
    assert.equal(r.experiment.maxDuration, 15 * 60_000, "default maxDuration is 15m");
  });

  it("refuses memory-high on cgroup v1 with the reason, and accepts it where v2 has it", () => {
    const doc = { name: "mh", actions: [{ fault: "memory-high", duration: "10s", params: { limit: "512MiB" } }] };
    const issue = find(issuesOf(doc), "actions[0].fault", /not available on this host: cgroup v1 has no memory.high/);
    assert.match(issue.fix, /memory-max/);
    const v2: ValidationContext = { ...V1_TARGET, cgroup: { ...V1_TARGET.cgroup!, mode: "v2", hybrid: false, supports: { ...V1_TARGET.cgroup!.supports, "memory.high": true } } };
    assert.deepEqual(issuesOf(doc, v2), []);
  });

  it("checks references against the target: upstreams, probes, devices", () => {
    const doc = {
      name: "refs",
      steadyState: { probes: [{ name: "probe-a", type: "request", upstream: "nope", within: "1s", phases: ["before"] }] },
      stopConditions: [{ on: "probe-failed", probe: "probe-a" }, { on: "probe-failed", probe: "ghost" }],
      actions: [
        { fault: "latency", upstream: "model", duration: "5s", params: { latency: "10ms" } },
        { fault: "io", duration: "5s", params: { device: "sdz", readBps: "1MiB/s" } },
      ],
    };
    const issues = issuesOf(doc);
    assert.match(find(issues, "actions[0].upstream", /no such upstream/).fix, /use one of: api/);
    find(issues, "steadyState.probes[0].upstream", /no such upstream/);
    find(issues, "stopConditions[0].probe", /does not run during the timeline/);
    find(issues, "stopConditions[1].probe", /no probe with this name/);
    assert.match(find(issues, "actions[1].params.device", /no such whole disk/).fix, /vda \(254:0\)/);
  });

  it("reports unknown fields with a did-you-mean, and bad units with the format to use", () => {
    const doc = { name: "typos", actions: [{ fault: "latency", upstream: "api", duraton: "5s", duration: "5s", params: { latency: 100, jiter: "5ms" } }] };
    const issues = issuesOf(doc);
    assert.match(find(issues, "actions[0].duraton", /unknown field/).fix, /did you mean 'duration'/);
    assert.match(find(issues, "actions[0].params.jiter", /unknown field/).fix, /did you mean 'jitter'/);
    assert.match(find(issues, "actions[0].params.latency", /needs a unit/).fix, /100ms/);
  });

  it("checks ramps and schedules", () => {
    const issues = issuesOf({
      name: "ramps",
      actions: [
        { fault: "latency", upstream: "api", duration: "10s", ramp: { steps: 3, from: { latency: "10ms" }, to: { jitter: "5ms" } } },
        { fault: "cpu", duration: "10s", params: { quota: "50%" }, repeat: { every: "5s" } },
        { fault: "pids", duration: "10s", params: { max: 10 }, repeat: { cron: "not a cron" } },
        { fault: "bandwidth", upstream: "api", duration: "10s", params: { rate: "1KiB/s" }, random: { count: 5, to: "30s" } },
      ],
    });
    find(issues, "actions[0].ramp.to.latency", /ramp.from has latency but ramp.to does not/);
    find(issues, "actions[1].repeat.every", /shorter than the window/);
    find(issues, "actions[2].repeat.cron", /not a cron expression/);
    find(issues, "actions[3].random", /cannot place 5 windows/);
  });

  it("a CPU quota below the kernel's minimum of 1000µs per period is refused (params and ramps); at the minimum it passes", () => {
    const cpu = (params: object, extra: object = {}) => ({ name: "cpu-min", actions: [{ fault: "cpu", duration: "10s", params, ...extra }] });
    // 0.5% of a 100 ms period = 500 µs: below the minimum.
    const low = find(issuesOf(cpu({ quota: "0.5%" })), "actions[0].params.quota", /500µs, below the kernel's minimum of 1000µs/);
    assert.match(low.fix, /at least 1% with period 100ms/);
    assert.deepEqual(issuesOf(cpu({ quota: "1%" })), [], "1% of 100 ms is exactly 1000 µs");
    // The period counts: 5% of 10 ms = 500 µs.
    assert.match(find(issuesOf(cpu({ quota: "5%", period: "10ms" })), "actions[0].params.quota", /500µs/).fix, /at least 10% with period 10ms/);
    assert.deepEqual(issuesOf(cpu({ quota: "10%", period: "10ms" })), []);
    // A ramp that ends below the minimum is refused although it starts above it.
    find(issuesOf(cpu({}, { ramp: { steps: 3, from: { quota: "50%" }, to: { quota: "0.1%" } } })), "actions[0].params.quota", /100µs, below the kernel's minimum/);
  });

  it("a memory limit below 4 MiB is refused (params and ramps); 4 MiB itself passes", () => {
    const mem = (params: object, extra: object = {}) => ({ name: "mem-min", actions: [{ fault: "memory-max", duration: "10s", params: { force: true, ...params }, ...extra }] });
    const low = find(issuesOf(mem({ limit: "4095KiB" })), "actions[0].params.limit", /below 4MiB/);
    assert.equal(low.value, 4095 * 1024);
    assert.match(low.fix, /at least 4MiB/);
    assert.deepEqual(issuesOf(mem({ limit: "4MiB" })), []);
    find(issuesOf(mem({}, { ramp: { steps: 2, from: { limit: "512MiB" }, to: { limit: "1MiB" } } })), "actions[0].params.limit", /below 4MiB/);
    // memory-high has the same floor.
    find(issuesOf({ name: "mh", actions: [{ fault: "memory-high", duration: "10s", params: { limit: "2MiB", force: true } }] }, {}), "actions[0].params.limit", /below 4MiB/);
  });

  it("an explicitly requested packet-loss mechanism that the target lacks is refused; auto picks the emulation here", () => {
    const loss = (mechanism: string) => ({ name: "ploss", actions: [{ fault: "packet-loss", upstream: "api", duration: "5s", params: { loss: "10%", mechanism } }] });
    find(issuesOf(loss("netem")), "actions[0].params.mechanism", /'netem' is not available here: no sch_netem/);
    const r = validateExperiment(loss("auto"), V1_TARGET);
    assert.ok(r.ok);
    assert.equal(r.experiment.actions[0].packetLoss?.mechanism, "emulation");
    assert.match(r.experiment.actions[0].packetLoss!.reason, /netem: no sch_netem; toxiproxy: no packet_loss toxic/);
    const withNetem: ValidationContext = { ...V1_TARGET, packetLoss: { netem: { upstream: true, downstream: true }, toxiproxy: true } };
    const r2 = validateExperiment(loss("auto"), withNetem);
    assert.ok(r2.ok);
    assert.equal(r2.experiment.actions[0].packetLoss?.mechanism, "netem");
  });

  it("a broken head does not hide the actions' problems", () => {
    const issues = issuesOf({ name: "X bad name", seed: "abc", actions: [{ fault: "cpu", duration: "5s", params: { quota: "0%" } }] });
    find(issues, "name", /not a valid name/);
    find(issues, "seed", /expected number/);
    find(issues, "actions[0].params.quota", /CPU quota of 0/);
  });

  it("loadExperiment throws an ExperimentError that lists the issues like the sandbox spec's", () => {
    const dir = fs.mkdtempSync(path.join(process.env.AIRLOCK_STATE_DIR!, "exp-"));
    const file = path.join(dir, "bad.yaml");
    fs.writeFileSync(file, YAML.stringify({ name: "bad", actions: [{ fault: "cpu", duration: "-1s", params: { quota: 0 } }] }));
    assert.throws(
      () => loadExperiment(file),
      (e: any) => e instanceof ExperimentError && e.issues.length === 2 && /actions\[0\]\.duration: negative duration; got '-1s' — fix: /.test(e.message),
    );
  });

  for (const example of ["chaos-latency-ramp.yaml", "chaos-lossy-link.yaml", "chaos-starvation.yaml"])
    it(`examples/${example} is valid (and against a v2 host with a target whose workload uses 100 MiB)`, () => {
      const file = path.join(__dirname, "..", "examples", example);
      const v2: ValidationContext = {
        ...V1_TARGET,
        upstreams: ["model-api"],
        cgroup: { ...V1_TARGET.cgroup!, mode: "v2", hybrid: false, supports: { ...V1_TARGET.cgroup!.supports, "memory.high": true } },
      };
      const { experiment, plan } = loadExperiment(file, v2);
      assert.ok(plan.windows.length >= 1);
      assert.equal(experiment.name, path.basename(example, ".yaml").replace(/^chaos-/, ""));
      assert.doesNotThrow(() => loadExperiment(file)); // and without a target
    });
});
