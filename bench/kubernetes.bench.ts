// Kubernetes fleet benchmark (npm run bench -- kubernetes):
//   graph  the k8s-fleet stack's resource graph under Pulumi's mocks for N = 1, 10, 100, 500 sandboxes,
//          each N in a fresh process (time and peak RSS), baseline N = 1; then the before of
//          mock-stack-capture.ts (the Pulumi SDK's stack capture left on) against the after, at
//          N = 200, in three interleaved pairs so that a host whose load changes during the run skews
//          both sides alike: the median of the per-pair ratios;
//   apply  the same fleet's rendered objects server-side-applied to the real API server of the test
//          control plane (test/helpers/kube-cluster.ts) for N = 1, 10, 100, baseline N = 1, then removed.
// Growth is reported per sandbox as a ratio to the baseline: 1.0 is linear. Target: linear, and the
// N = 500 graph in <= 60 s. Results: bench/results/kubernetes.json.
import * as fs from "fs";
import * as path from "path";
import { spawn } from "child_process";
import { benchTeardown } from "./teardown";

const root = path.join(__dirname, "..");
// The test control plane (etcd, kube-apiserver, …) is made through the teardown (bench/teardown.ts):
// SIGINT/SIGTERM stops it and removes its data dir (the applied objects go with it); a graph child
// (mocks only) gets the signal and is waited for. Exit 130/143.
const bench = benchTeardown("kubernetes");

function fleetConfig(n: number): Record<string, string> {
  const { readStackConfig } = require("../components/invariants/mock-graph");
  const cfg = readStackConfig(path.join(root, "stacks", "Pulumi.k8s-fleet.yaml"));
  const k = JSON.parse(cfg["airlock:kubernetes"]);
  k.fleet = { count: n, overrides: [] };
  return { ...cfg, "airlock:kubernetes": JSON.stringify(k) };
}

async function graphChild(n: number, keepStackCapture: boolean) {
  const { buildConfigGraph } = require("../components/invariants/mock-graph");
  const t0 = process.hrtime.bigint();
  const g = await buildConfigGraph(`bench-fleet-${n}`, fleetConfig(n), { keepStackCapture });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stdout.write(JSON.stringify({ n, ms, resources: g.graph.resources.length, maxRssMiB: process.resourceUsage().maxRSS / 1024, keepStackCapture }) + "\n");
}

/** One graph build in a fresh process (time and peak RSS of that N alone). */
async function graphRun(n: number, keepStackCapture = false) {
  bench.check();
  const args = [path.join(root, "bin", "run-ts.js"), __filename, "--graph", String(n), ...(keepStackCapture ? ["--keep-stack-capture"] : [])];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, AIRLOCK_QUIET: "1" } });
  bench.forwardTo(child, `graph build N=${n}`);
  let stdout = "";
  child.stdout!.on("data", (d) => (stdout += d));
  const code = await new Promise<number | null>((r) => child.on("close", (c) => r(c)));
  if (code !== 0) throw new Error(`graph N=${n} failed`);
  return JSON.parse(stdout.trim().split("\n").pop()!);
}

async function applyRuns(ns: number[]) {
  const { kubeCluster, stopKubeCluster } = require("../test/helpers/kube-cluster");
  const { renderDocs } = require("../test/helpers/kube-fixtures");
  return bench.using((c: any) => `test Kubernetes control plane (data dir ${c.dir})`, () => kubeCluster(), () => stopKubeCluster(), async (c: any) => {
    const out: any[] = [];
    for (const n of ns) {
      bench.check();
      const cfg = fleetConfig(n);
      const r = renderDocs(JSON.parse(cfg["airlock:sandbox"]), JSON.parse(cfg["airlock:kubernetes"]), { suffix: `b${n}` });
      for (const o of r.cluster) await c.client.apply(o);
      const objects = r.members.reduce((s: number, m: any) => s + m.objects.length, 0);
      const t0 = Date.now();
      const queue = [...r.members];
      await Promise.all(Array.from({ length: 8 }, async () => {
        for (let m = queue.shift(); m; m = queue.shift()) for (const o of m.objects) await c.client.apply(o);
      }));
      const ms = Date.now() - t0;
      out.push({ n, ms, objects });
      for (const m of r.members) await c.client.delete(m.objects[0], { ignoreMissing: true });
      // Let the namespaces go before the next size, so one run does not slow the next.
      for (const m of r.members) while (await c.client.exists(m.objects[0])) await new Promise((res) => setTimeout(res, 500));
    }
    return out;
  });
}

function table(title: string, rows: any[], cols: [string, (r: any) => string][]) {
  console.log(`\n${title}`);
  console.log(cols.map(([h]) => h.padStart(14)).join(""));
  for (const r of rows) console.log(cols.map(([, f]) => f(r).padStart(14)).join(""));
}

async function main() {
  const graph: any[] = [];
  for (const n of [1, 10, 100, 500]) graph.push(await graphRun(n));
  const pairs: { after: any; before: any }[] = [];
  for (let i = 0; i < 3; i++) pairs.push({ after: await graphRun(200), before: await graphRun(200, true) });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const timeRatio = median(pairs.map((p) => p.after.ms / p.before.ms));
  const rssRatio = median(pairs.map((p) => p.after.maxRssMiB / p.before.maxRssMiB));
  const g1 = graph[0];
  table("graph build under mocks (fresh process per N; baseline N=1)", graph, [
    ["N", (r) => String(r.n)],
    ["resources", (r) => String(r.resources)],
    ["ms", (r) => r.ms.toFixed(0)],
    ["ms/sandbox", (r) => (r.ms / r.n).toFixed(1)],
    ["x baseline/sb", (r) => (r.ms / r.n / g1.ms).toFixed(3)],
    ["peak RSS MiB", (r) => r.maxRssMiB.toFixed(0)],
  ]);
  table("N=200, SDK stack capture off (after) vs on (before mock-stack-capture.ts), interleaved", pairs, [
    ["after ms", (p) => p.after.ms.toFixed(0)],
    ["before ms", (p) => p.before.ms.toFixed(0)],
    ["after/before", (p) => (p.after.ms / p.before.ms).toFixed(3)],
    ["after RSS MiB", (p) => p.after.maxRssMiB.toFixed(0)],
    ["before RSS", (p) => p.before.maxRssMiB.toFixed(0)],
  ]);
  console.log(`median after/before: ${timeRatio.toFixed(3)} (time), ${rssRatio.toFixed(3)} (peak RSS)`);
  if (process.argv.includes("--graph-only")) return;
  const apply = await applyRuns([1, 10, 100]);
  const a1 = apply[0];
  table("server-side apply to the real API server (8 in flight; baseline N=1)", apply, [
    ["N", (r) => String(r.n)],
    ["objects", (r) => String(r.objects)],
    ["ms", (r) => String(r.ms)],
    ["ms/sandbox", (r) => (r.ms / r.n).toFixed(1)],
    ["x baseline/sb", (r) => (r.ms / r.n / a1.ms).toFixed(3)],
  ]);
  const growth = {
    stackCapture: { n: 200, pairs, medianAfterOverBefore: timeRatio, medianRssAfterOverBefore: rssRatio },
    graph: { "10/1": graph[1].ms / g1.ms, "100/10": graph[2].ms / graph[1].ms, "500/100": graph[3].ms / graph[2].ms, n500Seconds: graph[3].ms / 1000, target: "≈ N-ratio (10, 10, 5) for linear; N=500 <= 60 s" },
    apply: { "10/1": apply[1].ms / a1.ms, "100/10": apply[2].ms / apply[1].ms, target: "≈ 10 for linear" },
  };
  console.log(`\ngrowth ratios: ${JSON.stringify(growth, null, 1)}`);
  fs.mkdirSync(path.join(__dirname, "results"), { recursive: true });
  fs.writeFileSync(path.join(__dirname, "results", "kubernetes.json"), JSON.stringify({ at: new Date().toISOString(), graph, stackCapturePairs: pairs, apply, growth }, null, 2));
}

if (process.argv[2] === "--graph") graphChild(Number(process.argv[3]), process.argv[4] === "--keep-stack-capture").catch((e) => (console.error(e), process.exit(1)));
else bench.main(main);
