// The report: measured effects per window and per ramp step, the JSON for tools, and the HTML page
// that must work offline (chart.js inlined) — its script is run here against a stub Chart to check
// that it draws the planned and applied windows and the measurements.
import * as assert from "assert";
import * as fs from "fs";
import * as vm from "vm";
import { runChaos } from "../chaos/runner";
import { chaosTargetFromLocalHandle } from "../components/local/chaos-target";
import type { ChaosReport } from "../chaos/report/report";
import { FakeSandbox, startFakeSandbox, writeExperiment } from "./helpers/chaos-fixtures";

/** Runs the page's inline scripts with a stub Chart that records each chart's config. */
function drawPage(html: string): { charts: any[]; data: ChaosReport } {
  const scripts = [...html.matchAll(/<script(?: [^>]*)?>([\s\S]*?)<\/script>/g)];
  const dataScript = scripts.find((m) => /id="report-data"/.test(m[0]))!;
  const charts: any[] = [];
  const sandbox = {
    document: { getElementById: (id: string) => (id === "report-data" ? { textContent: dataScript[1] } : { id }) },
    Chart: function (this: any, el: any, config: any) {
      charts.push({ el: el.id, config });
    },
    JSON,
  };
  vm.runInNewContext(scripts[scripts.length - 1][1], sandbox);
  return { charts, data: JSON.parse(dataScript[1]) };
}

describe("chaos report (JSON + self-contained HTML)", function () {
  this.timeout(60_000);
  let sb: FakeSandbox;
  let report: ChaosReport;
  let html: string;

  before(async () => {
    sb = await startFakeSandbox({ workloadScript: "while :; do :; done" });
    const file = writeExperiment(
      "report",
      `
name: report-check
baseline: 1s
recovery: 500ms
measure: { interval: 100ms }
steadyState:
  probes:
    - { name: alive, type: workload-alive, interval: 250ms }
actions:
  - name: ramp
    fault: latency
    upstream: api
    duration: 3s
    ramp: { steps: 3, from: { latency: 50ms }, to: { latency: 250ms } }
  - { name: quota, fault: cpu, start: 500ms, duration: 2s, params: { quota: 20% } }
`,
    );
    const r = await runChaos(chaosTargetFromLocalHandle(sb.handle), file);
    report = JSON.parse(fs.readFileSync(r.reportPath, "utf8"));
    html = fs.readFileSync(r.htmlPath, "utf8");
  });
  after(async () => sb?.cleanup());

  it("measures each ramp step's latency against the baseline (50 -> 150 -> 250 ms added)", () => {
    const ramp = report.windows.find((w) => w.id === "ramp#1")!;
    const base = report.baseline.network.api.latencyMs!.p50;
    const added = ramp.steps.map((s) => s.latencyP50Ms! - base);
    assert.equal(added.length, 3);
    // The toxic is a lower bound on the added latency whatever the load; above, the run's own baseline
    // spread (p90 - p50) is the tolerance, not a fixed number of milliseconds.
    const b = report.baseline.network.api.latencyMs!;
    const tolerance = 15 + 2 * (b.p90 - b.p50);
    // (A step's median can also take in requests that began under the previous step: symmetric tolerance.)
    [50, 150, 250].forEach((want, i) => assert.ok(Math.abs(added[i] - want) <= tolerance, `step ${i + 1}: +${added[i].toFixed(1)} ms, configured +${want} (tolerance ${tolerance.toFixed(1)})`));
    assert.ok(added[0] < added[1] && added[1] < added[2], `the steps do not rise: ${added.map((a) => a.toFixed(1))}`);
    // Each step applied within its own step (1 s each), not after the next was due.
    assert.ok(ramp.steps.every((s) => s.lagMs! >= 0 && s.lagMs! < 3000 / 3), JSON.stringify(ramp.steps.map((s) => s.lagMs)));
  });

  it("measures CPU used against the quota in force, and the throttling", () => {
    const w = report.windows.find((x) => x.id === "quota#1")!;
    const c = w.effect!.cgroup!;
    // The quota the samples read while the window was on: 0.2 and nothing else. (The window's
    // "last value seen" can be a read that landed just after the undo on a loaded host: not used.)
    const during = report.samples.cgroup.filter((x) => x.t > w.appliedAtMs! && x.t < w.removedAtMs!).map((x) => x.quotaCores);
    assert.ok(during.includes(0.2) && during.every((q) => q === 0.2 || q === null), `quota read during the window: ${JSON.stringify(during)}`);
    // The quota is an upper bound (a loaded host gives less, never more); the kernel's throttle count
    // says the loop wanted more; the same loop before the quota (this run's baseline) got more.
    assert.ok(c.cpuCores!.mean <= 0.2 + 0.06, `CPU ${c.cpuCores!.mean} cores under a 0.2 quota`);
    assert.ok(c.throttledPeriods > 5, `throttled ${c.throttledPeriods} periods`);
    const baseline = report.baseline.cgroup!.cpuCores!.mean;
    assert.ok(baseline > c.cpuCores!.mean, `the busy loop used ${baseline} cores before the quota, ${c.cpuCores!.mean} under it`);
  });

  it("keeps the raw samples, probe results and a summary that names the outcome", () => {
    assert.ok(report.samples.network.length > 20 && report.samples.cgroup.length > 20);
    assert.ok(report.probes.filter((p) => p.phase === "during").length >= 5 && report.probes.every((p) => p.ok));
    assert.match(report.summary, /^completed: 2\/2 fault windows applied; rollback complete and verified/);
    assert.equal(report.schema, "airlock.chaos.report/v1");
    assert.match(report.experiment.sha256, /^[0-9a-f]{64}$/);
  });

  it("the HTML page is self-contained: chart.js and the data are inlined, nothing is fetched", () => {
    assert.match(html, /Chart\.js v4\.6\.1/);
    assert.doesNotMatch(html, /<script[^>]+src=/i);
    assert.doesNotMatch(html, /<link[^>]+href=/i);
    assert.doesNotMatch(html, /(src|href)=["']?https?:/i);
  });

  it("the page draws the timeline (planned vs applied, probes) and the measured effects", () => {
    const { charts, data } = drawPage(html);
    assert.deepEqual(data.windows.map((w) => w.id), ["ramp#1", "quota#1"]);
    const timeline = charts.find((c) => c.el === "timeline")!.config.data.datasets.map((d: any) => d.label);
    for (const label of ["ramp#1 planned", "ramp#1 applied", "quota#1 planned", "quota#1 applied", "probe ok"]) assert.ok(timeline.includes(label), `${label} in ${timeline}`);
    const applied = charts.find((c) => c.el === "timeline")!.config.data.datasets.find((d: any) => d.label === "quota#1 applied").data;
    assert.ok(Math.abs(applied[0].x - data.windows[1].appliedAtMs! / 1000) < 1e-9);
    const effects = charts.find((c) => c.el === "effects")!.config.data.datasets;
    const latency = effects.find((d: any) => d.label === "latency api (ms)");
    assert.equal(latency.data.length, data.samples.network.filter((s) => s.ok).length);
    assert.ok(effects.some((d: any) => d.label === "CPU used (cores)" && d.data.length === data.samples.cgroup.length));
  });
});
