// The scheduler: ramps, recurring windows (interval and cron), seeded random windows, and the order
// of timeline events. Expected values are worked out by hand from the documented rules.
import * as assert from "assert";
import { validateExperiment } from "../chaos/experiment/validate";
import type { Plan } from "../chaos/schedule/plan";
import { timelineEvents } from "../chaos/schedule/timeline";
import type { SpecIssue } from "../components/spec/issues";
import { runBounded, WorkerSummary } from "./helpers/bounded-validate";

const T0 = new Date("2026-03-02T10:00:07.000Z");

function plan(actions: object[], extra: object = {}): Plan {
  const r = validateExperiment({ name: "sched", maxDuration: "2h", baseline: "0s", recovery: "0s", actions, ...extra }, { t0: T0 });
  assert.ok(r.ok, JSON.stringify(r.issues, null, 1));
  return r.plan;
}

const spans = (p: Plan, action?: string) => p.windows.filter((w) => !action || w.action.name === action).map((w) => [w.startMs / 1000, w.endMs / 1000]);

describe("chaos scheduler", () => {
  it("ramps latency 50 -> 500 ms over 2 min in 10 equal steps, first = from, last = to", () => {
    const p = plan([{ fault: "latency", upstream: "api", duration: "3m", ramp: { steps: 10, over: "2m", from: { latency: "50ms" }, to: { latency: "500ms" } } }]);
    const steps = p.windows[0].steps;
    assert.deepEqual(
      steps.map((s) => s.atMs / 1000),
      [0, 12, 24, 36, 48, 60, 72, 84, 96, 108],
    );
    assert.deepEqual(
      steps.map((s) => s.params.latency),
      [50, 100, 150, 200, 250, 300, 350, 400, 450, 500],
    );
    // The last value is held until the window ends: no step after 108 s, the window lasts 180 s.
    assert.equal(p.windows[0].endMs, 180_000);
  });

  it("ramps downward and rounds per unit (CPU quota 100% -> 10% in 4 steps; counts stay whole)", () => {
    const p = plan([
      { fault: "cpu", duration: "40s", ramp: { steps: 4, from: { quota: "100%" }, to: { quota: "10%" } } },
      { fault: "pids", duration: "30s", ramp: { steps: 3, from: { max: 10 }, to: { max: 11 } } },
    ]);
    const cpu = p.windows.find((w) => w.action.fault === "cpu")!;
    assert.deepEqual(cpu.steps.map((s) => [s.atMs, s.params.quota]), [
      [0, 1],
      [10_000, 0.7],
      [20_000, 0.4],
      [30_000, 0.1],
    ]);
    const pids = p.windows.find((w) => w.action.fault === "pids")!;
    assert.deepEqual(pids.steps.map((s) => s.params.max), [10, 11, 11]); // 10.5 rounds to a whole count
  });

  it("repeats at a fixed interval until `until` (every window must end by it)", () => {
    const p = plan([{ fault: "pids", start: "10s", duration: "20s", params: { max: 50 }, repeat: { every: "1m", until: "3m" } }]);
    assert.deepEqual(spans(p), [
      [10, 30],
      [70, 90],
      [130, 150],
    ]); // 190..210 would end after 180
  });

  it("repeats at cron ticks (UTC, seconds field), counted from the wall-clock timeline start", () => {
    // T0 = 10:00:07; ticks every 15 s at :00 :15 :30 :45 -> first at 10:00:15 (offset 8 s).
    const p = plan([{ fault: "pids", duration: "5s", params: { max: 50 }, repeat: { cron: "*/15 * * * * *", until: "1m" } }]);
    assert.deepEqual(spans(p), [
      [8, 13],
      [23, 28],
      [38, 43],
      [53, 58],
    ]);
    // A start offset skips earlier ticks; a 5-field cron ticks on whole minutes.
    const q = plan([{ fault: "pids", start: "2m", duration: "10s", params: { max: 50 }, repeat: { cron: "*/2 * * * *", until: "7m" } }]);
    assert.deepEqual(spans(q), [
      [233, 243],
      [353, 363],
    ]); // 10:04:00 and 10:06:00
  });

  it("places seeded random windows reproducibly: same seed, same windows; another seed, other windows", () => {
    const action = { name: "chaos-monkey", fault: "bandwidth", upstream: "api", duration: "20s", params: { rate: "8KiB/s" }, random: { count: 5, from: "30s", to: "10m" } };
    const a = spans(plan([action], { seed: 1234 }));
    const b = spans(plan([action], { seed: 1234 }));
    const c = spans(plan([action], { seed: 1235 }));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    for (const windows of [a, c]) {
      assert.equal(windows.length, 5);
      for (const [s, e] of windows) {
        assert.ok(s >= 30 && e <= 600, `window ${s}..${e} outside 30s..10m`);
        assert.equal(Math.round((e - s) * 1000), 20_000);
      }
      for (let i = 1; i < windows.length; i++) assert.ok(windows[i][0] >= windows[i - 1][1], `windows overlap: ${JSON.stringify(windows)}`);
    }
    // The per-action seed overrides the experiment's; adding another action does not move these.
    const own = spans(plan([{ ...action, random: { ...action.random, seed: 1234 } }], { seed: 99 }));
    assert.deepEqual(own, a);
    const withOther = spans(plan([action, { fault: "pids", duration: "5s", params: { max: 9 }, random: { count: 2, to: "5m" } }], { seed: 1234 }), "chaos-monkey");
    assert.deepEqual(withOther, a);
  });

  it("orders timeline events: stop before start at the same instant, ramp steps in between", () => {
    const p = plan([
      { name: "first", fault: "cpu", duration: "10s", params: { quota: "50%" } },
      { name: "second", fault: "cpu", start: "10s", duration: "10s", ramp: { steps: 2, from: { quota: "40%" }, to: { quota: "20%" } } },
    ]);
    const ev = timelineEvents(p.windows).map((e) => `${e.atMs / 1000}s ${e.kind} ${e.window.action.name}${e.kind === "step" ? ` ${e.step}` : ""}`);
    assert.deepEqual(ev, ["0s start first", "10s stop first", "10s start second", "15s step second 1", "20s stop second"]);
  });

  describe("every expansion is bounded by maxDuration before it is expanded", () => {
    const refused = (doc: object, at: string, message: RegExp): SpecIssue => {
      const r = validateExperiment(doc, { t0: T0 });
      assert.ok(!r.ok, "accepted");
      const hit = r.issues.find((i) => i.path === at && message.test(i.message));
      assert.ok(hit, `no issue at ${at} matching ${message}; got:\n${r.issues.map((i) => `${i.path}: ${i.message}`).join("\n")}`);
      assert.ok(hit!.fix.length > 10, hit!.fix);
      return hit!;
    };
    const pids = (extra: object) => ({ name: "bounded", actions: [{ fault: "pids", duration: "1m", params: { max: 50 }, ...extra }] });
    const HANGS = [
      pids({ repeat: { every: "4m", until: "99999h" } }), // the reported one: > 30 s and > 1.8 GB before
      pids({ repeat: { cron: "0 0 1 1 *", until: "99999h" } }),
      pids({ repeat: { cron: "* * * * * *", until: "99999h" } }),
      pids({ random: { count: 1000, to: "99999h" } }),
      { name: "bounded", maxDuration: "2h", baseline: "0s", recovery: "0s", actions: [{ fault: "pids", duration: "1ms", params: { max: 50 }, repeat: { every: "1ms" } }] },
      { name: "bounded", maxDuration: "2h", baseline: "0s", recovery: "0s", actions: [{ fault: "latency", upstream: "api", duration: "1s", repeat: { every: "1s" }, ramp: { steps: 1000, from: { latency: "1ms" }, to: { latency: "1s" } } }] },
      { name: "bounded", maxDuration: "2h", baseline: "0s", recovery: "0s", actions: Array.from({ length: 3 }, (_, i) => ({ name: `busy-${i}`, fault: i ? "cpu" : "pids", duration: "1s", params: i ? { quota: "50%" } : { max: 9 }, repeat: { every: "1s" } })) },
    ];

    it("repeat until far past the end is refused at repeat.until, like until: 2h, with a 'longer than maxDuration' error", () => {
      for (const until of ["2h", "99999h"]) {
        const i = refused(pids({ repeat: { every: "4m", until } }), "actions[0].repeat.until", /longer than maxDuration/);
        assert.match(i.message, /but the timeline ends at 894s \(maxDuration 15m minus baseline and recovery\)/);
        assert.match(i.fix, /repeat\.until to at most 894s/);
      }
      refused(pids({ repeat: { cron: "0 0 1 1 *", until: "99999h" } }), "actions[0].repeat.until", /longer than maxDuration/);
      // A repeat whose windows all end within the timeline is fine, even if `until` lies beyond it.
      const p = plan([{ fault: "pids", duration: "1m", params: { max: 50 }, repeat: { every: "4m", until: "12m" } }], { maxDuration: "10m" }); // 12..13 would end after until
      assert.deepEqual(spans(p), [
        [0, 60],
        [240, 300],
        [480, 540],
      ]);
      assert.match(refused(pids({ repeat: { every: "4m", until: "2h" } }), "actions[0].repeat.until", /./).message, /a window would end at 117m/);
    });

    it("random windows must be placed inside the timeline: random.to past its end is refused", () => {
      refused(pids({ random: { count: 3, to: "99999h" } }), "actions[0].random.to", /longer than maxDuration/);
      assert.equal(plan([{ fault: "pids", duration: "1m", params: { max: 50 }, random: { count: 3, to: "10m" } }], { maxDuration: "10m" }).windows.length, 3);
    });

    it("caps windows per action and per experiment, and the runner's events (ramp steps x windows)", () => {
      const fast = (actions: object[]) => ({ name: "bounded", maxDuration: "2h", baseline: "0s", recovery: "0s", actions });
      // 2 h of 500 ms windows back to back: 14 400 > 10 000 per action.
      refused(fast([{ fault: "pids", duration: "500ms", params: { max: 9 }, repeat: { every: "500ms" } }]), "actions[0].repeat.every", /makes 14400 windows, more than the 10000 one action may have/);
      // 2 h of 1 s windows is 7200: fine alone, but two such actions exceed 10 000 in all.
      assert.equal(plan([{ fault: "pids", duration: "1s", params: { max: 9 }, repeat: { every: "1s" } }]).windows.length, 7200);
      const two = fast([0, 1].map((i) => ({ name: `a${i}`, fault: i ? "cpu" : "pids", duration: "1s", params: i ? { quota: "50%" } : { max: 9 }, repeat: { every: "1s" } })));
      refused(two, "actions[1].repeat.every", /more than the 2800 left for it in the experiment/);
      // 7200 windows with 20-step ramps: 7200 x 21 events > 100 000.
      refused(fast([{ fault: "latency", upstream: "api", duration: "1s", repeat: { every: "1s" }, ramp: { steps: 20, from: { latency: "1ms" }, to: { latency: "9ms" } } }]), "actions[0].ramp.steps", /past 100000 events/);
      // More than 1000 actions are refused in the head (and not even parsed).
      refused(fast(Array.from({ length: 1001 }, (_, i) => ({ fault: "pids", start: `${i}s`, duration: "1s", params: { max: 9 } }))), "actions", /more than 1000 actions/);
    });

    it("durations too large to compute with are refused as such (a number with 400 digits is Infinity)", () => {
      refused(pids({ repeat: { every: "4m", until: "9".repeat(400) + "h" } }), "actions[0].repeat.until", /duration too long to compute with/);
      refused({ name: "bounded", maxDuration: "9".repeat(400) + "h", actions: [{ fault: "pids", duration: "1s", params: { max: 9 } }] }, "maxDuration", /duration too long/);
    });

    it("overlaps are listed up to 50 pairs, then summed up in one issue", () => {
      const r = validateExperiment({ name: "crowd", actions: Array.from({ length: 60 }, (_, i) => ({ name: `c${i}`, fault: "cpu", duration: "10s", params: { quota: "50%" } })) }, { t0: T0 });
      assert.ok(!r.ok);
      assert.equal(r.issues.filter((i) => /overlaps action/.test(i.message)).length, 50);
      assert.match(r.issues[r.issues.length - 1].message, /more pairs of actions overlap .* than the 50 listed/);
    });

    it("inputs that used to hang are refused within a bound set by this run (a worker with a 256 MB heap, terminated at the first overrun)", async function () {
      this.timeout(60_000);
      // Same-run baseline: the reported "until: 2h" case, refused at once before and after the fix.
      const baseline = { docs: [pids({ repeat: { every: "4m", until: "2h" } })], count: 50, boundsFrom: (b: WorkerSummary) => ({ caseMs: Math.max(1000, Math.ceil(100 * b.maxCaseMs)), heapMb: 256 }) };
      const r = await runBounded({ kind: "experiment", docs: HANGS, count: HANGS.length, seed: 0, baseline }, { caseMs: 60_000, heapMb: 256 });
      assert.deepEqual(r.failures, [], "each refused with issues that name a path and a fix");
      assert.equal(r.refused, HANGS.length);
      process.stdout.write(`      slowest of ${HANGS.length} formerly unbounded inputs: ${r.maxCaseMs.toFixed(1)} ms (bound ${r.bounds.caseMs} ms = 100x the 'until: 2h' case, ${r.baseline!.maxCaseMs.toFixed(2)} ms)\n`);
    });
  });
});

describe("chaos tick wait (sleepUntil)", () => {
  it("never returns before its deadline on the runner's clock, even for fractional-ms deadlines (a timer alone wakes early)", async () => {
    const { sleepUntil } = await import("../chaos/measure/loop");
    const { clock } = await import("../chaos/measure/clock");
    let earliest = Infinity;
    for (let i = 0; i < 200; i++) {
      const deadline = clock() + 0.3 + (i % 7) * 0.71; // 0.3 .. 4.6 ms ahead, off the ms grid
      await sleepUntil(deadline);
      earliest = Math.min(earliest, clock() - deadline);
    }
    assert.ok(earliest >= 0, `woke ${(-earliest).toFixed(3)} ms before a deadline`);
  });

  it("returns at once when aborted", async () => {
    const { sleepUntil } = await import("../chaos/measure/loop");
    const { clock } = await import("../chaos/measure/clock");
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    const t = clock();
    await sleepUntil(clock() + 60_000, ac.signal);
    assert.ok(clock() - t < 10_000);
  });
});
