// The report as one self-contained HTML page (it must open on an air-gapped machine): chart.js's UMD
// bundle and the report data are inlined. Two charts on one time axis (seconds since the run
// started): the timeline (planned vs applied fault windows, probe results, the abort) and the measured
// effects (request latency and errors through the gate; CPU used vs quota; memory).
import * as fs from "fs";
import * as path from "path";
import type { ChaosReport } from "./report";

/** chart.js's package exports hide dist/: resolve its main file and take the UMD bundle next to it. */
export function chartJsBundle(): string {
  const file = path.join(path.dirname(require.resolve("chart.js")), "chart.umd.js");
  if (!fs.existsSync(file)) throw new Error(`chart.js UMD bundle not found at ${file}; is the chart.js package installed (npm ci)?`);
  return fs.readFileSync(file, "utf8");
}

const esc = (s: unknown) =>
  String(s ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");

/** JSON that can sit inside a <script> element (no "</script>", no "<!--"). */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, "\\u003c");

const sec = (ms: number | undefined) => (ms === undefined ? "—" : (ms / 1000).toFixed(2) + " s");

function windowRows(r: ChaosReport): string {
  return r.windows
    .map((w) => {
      const n = w.effect?.network;
      const c = w.effect?.cgroup;
      const effect = n
        ? `${n.samples} req, ${Math.round(n.errorRate * 100)}% errors${n.addedLatencyMs ? `, +${n.addedLatencyMs.p50} ms p50 / +${n.addedLatencyMs.p99} ms p99` : ""}${n.throughputBps ? `, ${Math.round(n.throughputBps.p50 / 1024)} KiB/s` : ""}`
        : c
          ? `${c.cpuCores ? `CPU ${c.cpuCores.mean} cores` : ""}${c.quotaCores ? ` / quota ${c.quotaCores}` : ""}, throttled ${c.throttledPeriods}, mem peak ${(c.memoryPeakBytes / 2 ** 20).toFixed(1)} MiB, mem events ${JSON.stringify(c.memoryEvents)}, fork refusals ${c.pidsMaxEvents}`
          : "";
      return `<tr class="${w.status}"><td>${esc(w.id)}</td><td>${esc(w.fault)}${w.upstream ? ` (${esc(w.upstream)} ${esc(w.stream)})` : ""}</td><td>${esc(w.mechanism ?? "")}${w.mechanismReason ? `<br><small>${esc(w.mechanismReason)}</small>` : ""}</td><td>${sec(w.plannedStartMs)} – ${sec(w.plannedEndMs)}</td><td>${sec(w.appliedAtMs)} – ${sec(w.removedAtMs)}</td><td>${w.tickToEffectMs?.toFixed(1) ?? "—"} ms</td><td>${w.rollbackMs?.toFixed(1) ?? "—"} ms</td><td>${esc(w.status)}${w.error ? `: ${esc(w.error)}` : ""}</td><td>${esc(effect)}${w.note ? `<br><small>${esc(w.note)}</small>` : ""}</td></tr>`;
    })
    .join("\n");
}

// Runs in the browser: builds the datasets from the inlined report.
const PAGE_SCRIPT = `
const R = JSON.parse(document.getElementById("report-data").textContent);
const s = (ms) => ms / 1000;
const endS = s(R.phases.endMs);
const rows = R.windows.map((w) => w.id);
const PROBE_ROW = rows.length;
const tl = [];
R.windows.forEach((w, i) => {
  tl.push({ label: w.id + " planned", data: [{ x: s(w.plannedStartMs), y: i - 0.15 }, { x: s(w.plannedEndMs), y: i - 0.15 }], borderColor: "rgba(120,120,200,0.45)", borderWidth: 8, showLine: true, pointRadius: 0 });
  if (w.appliedAtMs !== undefined)
    tl.push({ label: w.id + " applied", data: [{ x: s(w.appliedAtMs), y: i + 0.15 }, { x: s(w.removedAtMs ?? R.phases.endMs), y: i + 0.15 }], borderColor: w.status === "failed" ? "#c0392b" : "#2c3e99", borderWidth: 8, showLine: true, pointRadius: 0 });
});
tl.push({ label: "probe ok", data: R.probes.filter((p) => p.ok).map((p) => ({ x: s(p.t), y: PROBE_ROW })), backgroundColor: "#27ae60", pointRadius: 4, showLine: false });
tl.push({ label: "probe failed", data: R.probes.filter((p) => !p.ok).map((p) => ({ x: s(p.t), y: PROBE_ROW })), backgroundColor: "#c0392b", pointStyle: "crossRot", pointRadius: 6, borderColor: "#c0392b", showLine: false });
if (R.abortReason) tl.push({ label: "abort: " + R.abortReason.kind, data: [{ x: s(R.abortReason.atMs), y: -0.5 }, { x: s(R.abortReason.atMs), y: PROBE_ROW + 0.5 }], borderColor: "#e67e22", borderWidth: 3, borderDash: [6, 4], showLine: true, pointRadius: 0 });
tl.push({ label: "timeline start", data: [{ x: s(R.phases.timelineStartMs), y: -0.5 }, { x: s(R.phases.timelineStartMs), y: PROBE_ROW + 0.5 }], borderColor: "#999", borderWidth: 1, showLine: true, pointRadius: 0 });
const xAxis = () => ({ type: "linear", min: 0, max: endS, title: { display: true, text: "seconds since the run started" } });
new Chart(document.getElementById("timeline"), {
  type: "scatter",
  data: { datasets: tl },
  options: { animation: false, plugins: { legend: { labels: { filter: (i) => !/ (planned|applied)$/.test(i.text) } } },
    scales: { x: xAxis(), y: { min: -0.6, max: PROBE_ROW + 0.6, reverse: true, ticks: { stepSize: 1, callback: (v) => (v === PROBE_ROW ? "probes" : rows[v] ?? "") } } } },
});
const ups = [...new Set(R.samples.network.map((x) => x.upstream))];
const colors = ["#2c3e99", "#16a085", "#8e44ad", "#d35400", "#2980b9"];
const eff = [];
ups.forEach((u, i) => {
  const mine = R.samples.network.filter((x) => x.upstream === u);
  eff.push({ label: "latency " + u + " (ms)", data: mine.filter((x) => x.ok).map((x) => ({ x: s(x.t), y: x.latencyMs })), backgroundColor: colors[i % colors.length], pointRadius: 2, yAxisID: "ms" });
  eff.push({ label: "errors " + u, data: mine.filter((x) => !x.ok).map((x) => ({ x: s(x.t), y: 0 })), backgroundColor: "#c0392b", pointStyle: "crossRot", pointRadius: 6, borderColor: "#c0392b", yAxisID: "ms" });
});
const cg = R.samples.cgroup;
if (cg.length) {
  eff.push({ label: "CPU used (cores)", data: cg.map((x) => ({ x: s(x.t), y: x.cpuCores })), borderColor: "#e67e22", showLine: true, pointRadius: 1, yAxisID: "cores" });
  eff.push({ label: "CPU quota (cores)", data: cg.filter((x) => x.quotaCores !== null).map((x) => ({ x: s(x.t), y: x.quotaCores })), borderColor: "#7f8c8d", borderDash: [4, 3], stepped: true, showLine: true, pointRadius: 0, yAxisID: "cores" });
  eff.push({ label: "memory (MiB)", data: cg.map((x) => ({ x: s(x.t), y: x.memoryCurrent / 1048576 })), borderColor: "#8e44ad", showLine: true, pointRadius: 0, yAxisID: "mib" });
  eff.push({ label: "memory limit/OOM events", data: cg.filter((x) => x.memoryEvents.max + x.memoryEvents.high + x.memoryEvents.oomKill > 0).map((x) => ({ x: s(x.t), y: x.memoryCurrent / 1048576 })), backgroundColor: "#c0392b", pointStyle: "triangle", pointRadius: 6, yAxisID: "mib" });
}
new Chart(document.getElementById("effects"), {
  type: "scatter",
  data: { datasets: eff },
  options: { animation: false, scales: { x: xAxis(),
    ms: { position: "left", title: { display: true, text: "latency through the gate (ms)" }, beginAtZero: true },
    cores: { position: "right", display: cg.length > 0, title: { display: true, text: "CPU (cores)" }, beginAtZero: true, grid: { drawOnChartArea: false } },
    mib: { position: "right", display: cg.length > 0, title: { display: true, text: "memory (MiB)" }, beginAtZero: true, grid: { drawOnChartArea: false } } } },
});
`;

export function renderHtml(r: ChaosReport): string {
  const probes = r.probes
    .map((p) => `<tr class="${p.ok ? "ok" : "bad"}"><td>${sec(p.t)}</td><td>${esc(p.phase)}</td><td>${esc(p.probe)}</td><td>${p.ok ? "ok" : "FAILED"}</td><td>${esc(p.detail ?? "")}</td></tr>`)
    .join("\n");
  const rollback = r.rollback.steps.map((s) => `<tr class="${s.ok ? "ok" : "bad"}"><td>${esc(s.label)}</td><td>${s.ok ? "undone" : "FAILED"}</td><td>${s.ms.toFixed(1)} ms</td><td>${esc(s.error ?? "")}</td></tr>`).join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Chaos report: ${esc(r.experiment.name)} on ${esc(r.sandbox)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;max-width:1400px;color:#222}
h1{font-size:1.4em}.status{padding:.2em .6em;border-radius:4px;color:#fff;background:${r.status === "completed" ? "#27ae60" : r.status === "error" ? "#c0392b" : "#e67e22"}}
table{border-collapse:collapse;margin:.5em 0 1.5em;width:100%}td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
tr.bad td,tr.failed td{background:#fdecea}.summary{background:#f6f6f6;padding:.8em;border-left:4px solid #2c3e99}
.chart{position:relative;height:${Math.max(220, 60 + 34 * (r.windows.length + 1))}px}.chart2{position:relative;height:360px}
</style></head><body>
<h1>Chaos report: ${esc(r.experiment.name)} <span class="status">${esc(r.status)}</span></h1>
<p>Sandbox <b>${esc(r.sandbox)}</b> · run ${esc(r.runId)} · ${esc(r.startedAt)} → ${esc(r.endedAt)} · experiment ${esc(r.experiment.file)} (sha256 ${esc(r.experiment.sha256.slice(0, 12))}, seed ${r.experiment.seed})</p>
<p class="summary">${esc(r.summary)}</p>
${r.abortReason ? `<p><b>Stopped early</b> (${esc(r.abortReason.kind)}) at ${sec(r.abortReason.atMs)}: ${esc(r.abortReason.detail)}</p>` : ""}
<h2>Timeline: planned vs applied</h2><div class="chart"><canvas id="timeline"></canvas></div>
<h2>Measured effects</h2><div class="chart2"><canvas id="effects"></canvas></div>
<h2>Fault windows</h2>
<table><tr><th>window</th><th>fault</th><th>mechanism</th><th>planned</th><th>in effect</th><th>tick→effect</th><th>undo</th><th>status</th><th>measured effect</th></tr>
${windowRows(r)}</table>
<h2>Steady state</h2><p>before: ${r.steadyState.before ?? "no probes"} · after: ${r.steadyState.after ?? "not checked"}</p>
<table><tr><th>t</th><th>phase</th><th>probe</th><th>result</th><th>detail</th></tr>${probes}</table>
<h2>Rollback</h2><p>${r.rollback.complete ? "complete" : "INCOMPLETE"}, ${r.rollback.verified ? "verified by reading every old value back" : `not verified: ${esc(r.rollback.problems.join("; "))}`}, ${r.rollback.ms.toFixed(1)} ms</p>
<table><tr><th>change</th><th>result</th><th>time</th><th>error</th></tr>${rollback}</table>
<script id="report-data" type="application/json">${scriptJson(r)}</script>
<script>${chartJsBundle()}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}
