// Local backend benchmark (npm run bench -- local):
//   1. median create and destroy time of one sandbox (HostSandbox: journal, leases, netns + veth,
//      three nft tables' worth of rules, tmpfs, cgroup + limits, canaries, Toxiproxy gate, guard,
//      record; create includes running one confined `true`), against the bare kernel primitives made
//      by bench/bare-primitives.sh (netns + veth + nft tables + cgroup + `bwrap true`), same run;
//   2. 50 sandboxes created concurrently, each running a sleeping workload: total time, host memory
//      per sandbox (MemAvailable drop, and the summed PSS of every process involved), destroy time;
//   3. `sweep` afterwards: Airlock host objects left on the host (must be 0).
// Writes bench/results/local.json.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn, spawnSync } from "child_process";

process.env.AIRLOCK_STATE_DIR = process.env.AIRLOCK_STATE_DIR || fs.mkdtempSync(path.join(os.tmpdir(), "airlock-bench-state-"));
process.env.AIRLOCK_QUIET = "1";
// Said up front: after a SIGKILL of the bench, only a sweep of this state dir recovers its sandboxes.
process.stderr.write(`bench state: ${process.env.AIRLOCK_STATE_DIR} (after a kill: AIRLOCK_STATE_DIR=${process.env.AIRLOCK_STATE_DIR} npx airlock sweep)\n`);

import { parseSpec } from "../components/spec";
import { HostSandbox } from "../components/local/sandbox";
import { sweep } from "../components/local/sweep";
import { scanHostObjects } from "../components/local/hostscan";
import { cgroupOf } from "../components/local/views";
import { sleep } from "../chaos/measure/loop";
import { summarize } from "../chaos/measure/stats";
import { benchTeardown } from "./teardown";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 10);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 50);
const BARE = path.join(__dirname, "bare-primitives.sh");

const spec = (command: string[]) =>
  parseSpec({
    name: "bench",
    backend: "local",
    owner: "bench@airlock.dev",
    ttl: "30m",
    workload: { cpus: 0.5, memory: "256MiB", pids: 128, command },
    egress: { allow: [{ name: "model-api", via: "address", host: "127.0.0.1", port: 9, listenPort: 8080 }] },
  });

// Signal-safe cleanup (bench/teardown.ts): every sandbox is made through the teardown, so Ctrl-C
// (SIGINT, SIGTERM, SIGHUP) destroys the live ones with HostSandbox.destroy; then every bare-primitive
// set this run touched is destroyed (idempotent: also one whose create failed half-way) and sweep()
// runs — the state directory is a fresh temp dir a later `airlock sweep` would never see.
const bench = benchTeardown("local");
const bareTags = new Set<string>();
bench.atLast("bare primitive sets destroyed (bare-primitives.sh destroy)", () => {
  for (const t of bareTags) spawnSync(BARE, ["destroy", t], { stdio: "ignore" });
  return `${bareTags.size} tag(s)`;
});
bench.atLast("sweep", async () => {
  const r = await sweep();
  return `${r.orphansRemoved.length} orphan(s) removed, ${r.leftovers.length} left`;
});
const createBox = (command: string[]) =>
  bench.make((b: HostSandbox) => `sandbox ${b.id}`, () => HostSandbox.create(spec(command)), (b) => b.destroy("bench"), { batch: "sandboxes", failures: (r) => r.failed.map((f) => `${f.step.label}: ${f.error}`) });

/** The median (p50, nearest rank) of the measured values, as in the chaos bench. */
const median = (xs: number[]) => summarize(xs)!.p50;
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

function memAvailableKiB(): number {
  return Number(/^MemAvailable:\s+(\d+)/m.exec(fs.readFileSync("/proc/meminfo", "utf8"))![1]);
}

/** Proportional set size (KiB) of a process: its private memory plus its share of shared pages. */
function pssKiB(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))![1]);
  } catch {
    return 0;
  }
}

function bare(action: "create" | "destroy", tag: string): number {
  if (action === "create") bench.check();
  bareTags.add(tag);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(BARE, [action, tag], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bare-primitives.sh ${action} failed: ${r.stderr}`);
  return ms(t0);
}

interface Single {
  create: number;
  destroy: number;
  /** Where the time went: create's steps (create-steps.ts), the workload's run, destroy's phases. */
  phases: Record<string, number>;
}

/** bare-primitives.sh as a child of this process (for N at once). */
function bareAsync(action: "create" | "destroy", tag: string): Promise<void> {
  if (action === "create") bench.check();
  bareTags.add(tag);
  return bench.track(new Promise((resolve, reject) => {
    const c = spawn(BARE, [action, tag], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    c.stderr.on("data", (d) => (err += d));
    c.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`bare-primitives.sh ${action} ${tag}: ${err}`))));
  }));
}

async function single(): Promise<Single> {
  const t0 = process.hrtime.bigint();
  const made = await createBox(["true"]);
  const sb = made.value;
  const created = ms(t0);
  await sb.startWorkload().exited;
  const create = ms(t0);
  const t1 = process.hrtime.bigint();
  const r = await made.undo();
  if (r.failed.length) throw new Error(`destroy failed: ${r.failed.map((f) => f.error).join("; ")}`);
  const phases: Record<string, number> = {};
  const steps = Object.values(sb.createTimings).reduce((a, b) => a + (b ?? 0), 0);
  for (const [k, v] of Object.entries(sb.createTimings)) phases[`create: ${k}`] = v ?? 0;
  phases["create: outside the steps (journal, record, handle)"] = created - steps;
  phases["create: workload `true`"] = create - created;
  for (const [k, v] of Object.entries(r.timings)) phases[`destroy: ${k}`] = v;
  return { create, destroy: ms(t1), phases };
}

async function main() {
  const results: any = { host: { kernel: os.release(), cpus: os.cpus().length, memTotalMiB: Math.round(os.totalmem() / 2 ** 20) }, iterations: ITERATIONS };

  // Warm-up (page cache, ts-node, first Toxiproxy start), not measured.
  await single();
  bare("create", "w0");
  bare("destroy", "w0");

  const ours = { create: [] as number[], destroy: [] as number[] };
  const prim = { create: [] as number[], destroy: [] as number[] };
  const phases: Record<string, number[]> = {};
  for (let i = 0; i < ITERATIONS; i++) {
    const o = await single();
    ours.create.push(o.create);
    ours.destroy.push(o.destroy);
    for (const [k, v] of Object.entries(o.phases)) (phases[k] ??= []).push(v);
    const tag = i.toString(16).padStart(2, "0");
    prim.create.push(bare("create", tag));
    prim.destroy.push(bare("destroy", tag));
  }
  results.single = {
    airlock: { createMs: median(ours.create), destroyMs: median(ours.destroy) },
    bare: { createMs: median(prim.create), destroyMs: median(prim.destroy) },
  };
  results.single.phasesMs = Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, median(v)]));
  results.single.ratio = { create: results.single.airlock.createMs / results.single.bare.createMs, destroy: results.single.airlock.destroyMs / results.single.bare.destroyMs };

  const f = (n: number) => n.toFixed(1);
  const rows = [
    ["", "airlock (HostSandbox)", "bare primitives", "ratio"],
    ["create (median, ms)", f(results.single.airlock.createMs), f(results.single.bare.createMs), `${results.single.ratio.create.toFixed(2)}x`],
    ["destroy (median, ms)", f(results.single.airlock.destroyMs), f(results.single.bare.destroyMs), `${results.single.ratio.destroy.toFixed(2)}x`],
  ];
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  process.stdout.write(rows.map((r) => r.map((c, i) => c.padEnd(w[i])).join("  ")).join("\n") + "\n\n");
  const pw = Math.max(...Object.keys(results.single.phasesMs).map((k) => k.length));
  process.stdout.write("where the time goes (median ms per phase):\n" + Object.entries(results.single.phasesMs).map(([k, v]) => `  ${k.padEnd(pw)}  ${f(v as number)}`).join("\n") + "\n\n");

  // The floor at the same concurrency: CONCURRENT bare sets at once (tags c000.., 4 hex: veth names stay 15 characters).
  const tags = Array.from({ length: CONCURRENT }, (_, i) => `c${i.toString(16).padStart(3, "0")}`);
  const tb = process.hrtime.bigint();
  const bareMade = await Promise.allSettled(tags.map((t) => bareAsync("create", t)));
  const bareCreateAll = ms(tb);
  const tbd = process.hrtime.bigint();
  await Promise.allSettled(tags.map((t) => bareAsync("destroy", t)));
  const bareDestroyAll = ms(tbd);
  const bareFailed = bareMade.filter((r) => r.status === "rejected").length;

  // CONCURRENT at once.
  await sleep(1000);
  const memBefore = memAvailableKiB();
  const rssBefore = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  const boxes = await Promise.all(Array.from({ length: CONCURRENT }, () => createBox(["sleep", "3600"])));
  for (const b of boxes) b.value.startWorkload();
  const createAll = ms(t0);
  await sleep(2000); // let every workload start and the guards poll
  const running = boxes.filter((b) => cgroupOf(b.value.handle.cgroup).processes().length > 0).length;
  const memAfter = memAvailableKiB();
  const rssAfter = process.memoryUsage().rss;
  // Every process of the sandboxes: workload cgroups, gates, anchors, canary watchers.
  const objects = await scanHostObjects();
  const pids = new Set<number>();
  for (const o of objects) if (o.kind === "process") pids.add(Number(o.name.split(" ")[0]));
  for (const b of boxes) for (const p of cgroupOf(b.value.handle.cgroup).processes()) pids.add(p);
  const pss = [...pids].reduce((s, p) => s + pssKiB(p), 0);
  const t1 = process.hrtime.bigint();
  const destroyed = await Promise.all(boxes.map((b) => b.undo()));
  const destroyAll = ms(t1);
  const failed = destroyed.flatMap((d) => d.failed);
  const report = await sweep();
  // What is left of this benchmark's sandboxes (objects of other tools on a shared host do not count).
  const ids = new Set(boxes.map((b) => b.value.id));
  const leftovers = (await scanHostObjects()).filter((o) => o.id && ids.has(o.id)).length;
  results.concurrent = {
    sandboxes: CONCURRENT,
    bare: { createAllMs: bareCreateAll, destroyAllMs: bareDestroyAll, failed: bareFailed },
    ratio: { create: createAll / bareCreateAll, destroy: destroyAll / bareDestroyAll },
    workloadsRunning: running,
    createAllMs: createAll,
    destroyAllMs: destroyAll,
    memoryPerSandboxMiB: {
      memAvailableDrop: (memBefore - memAfter) / 1024 / CONCURRENT,
      processesPss: pss / 1024 / CONCURRENT,
      ownerProcessRssGrowth: (rssAfter - rssBefore) / 2 ** 20 / CONCURRENT,
    },
    processesCounted: pids.size,
    undoFailures: failed.length,
    sweep: { orphansRemoved: report.orphansRemoved.length, ownerlessLeftovers: report.leftovers.length, hostObjectsOfTheseSandboxesAfter: leftovers },
  };

  const c = results.concurrent;
  process.stdout.write(
    [
      `${c.sandboxes} sandboxes at once: created in ${f(c.createAllMs / 1000)} s (${c.workloadsRunning} workloads running), destroyed in ${f(c.destroyAllMs / 1000)} s`,
      `${c.sandboxes} bare-primitive sets at once: created in ${f(c.bare.createAllMs / 1000)} s (${c.bare.failed} failed), destroyed in ${f(c.bare.destroyAllMs / 1000)} s — ratio create ${c.ratio.create.toFixed(2)}x, destroy ${c.ratio.destroy.toFixed(2)}x`,
      `host memory per sandbox: ${f(c.memoryPerSandboxMiB.memAvailableDrop)} MiB (MemAvailable drop), ${f(c.memoryPerSandboxMiB.processesPss)} MiB (PSS of its ${Math.round(c.processesCounted / c.sandboxes)} processes), ${f(c.memoryPerSandboxMiB.ownerProcessRssGrowth)} MiB (owner process growth)`,
      `sweep afterwards: ${c.sweep.orphansRemoved} orphans removed; host objects of these sandboxes left: ${c.sweep.hostObjectsOfTheseSandboxesAfter}; Airlock objects without a live owner left: ${c.sweep.ownerlessLeftovers}; undo failures: ${c.undoFailures}`,
      `(median of ${ITERATIONS}; host: ${results.host.cpus} CPUs, kernel ${results.host.kernel})`,
    ].join("\n") + "\n",
  );
  fs.mkdirSync(path.join(__dirname, "results"), { recursive: true });
  fs.writeFileSync(path.join(__dirname, "results", "local.json"), JSON.stringify(results, null, 2) + "\n");
  if (c.sweep.hostObjectsOfTheseSandboxesAfter > 0 || c.sweep.ownerlessLeftovers > 0 || c.undoFailures > 0 || c.workloadsRunning !== c.sandboxes) process.exitCode = 1;
}

bench.main(main);
