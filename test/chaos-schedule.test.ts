// The scheduler: ramps, recurring windows (interval and cron), seeded random windows, and the order
// of timeline events. Expected values are worked out by hand from the documented rules.
import * as assert from "assert";
import { validateExperiment } from "../chaos/experiment/validate";
import type { Plan } from "../chaos/schedule/plan";
import { timelineEvents } from "../chaos/schedule/timeline";

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
});
