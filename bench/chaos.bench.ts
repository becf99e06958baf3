// Chaos benchmark (npm run bench -- chaos): how exact and how fast the chaos module is, on this host.
//   1. injected latency accuracy at 10 / 100 / 1000 ms vs a no-toxic baseline measured in the same run
//      (measured - baseline - configured, p50/p99), through a real Toxiproxy in front of a loopback upstream;
//   2. scheduled tick -> fault in effect, and per-fault undo time, from the real runner's report
//      (20 repeated windows each of a latency toxic and a CPU quota);
//   3. rollback of everything at once (an aborted run), and the watchdog's restore after a SIGKILL;
//   4. CPU-quota accuracy (busy loop at 10 / 20 / 50 % of a core);
//   5. the watchdog's cost: startup time and resident memory while it waits.
// Writes bench/results/chaos.json.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

if (!process.env.AIRLOCK_STATE_DIR) process.env.AIRLOCK_STATE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-bench-state-"));
process.env.AIRLOCK_QUIET = "1";

import { UndoJournal } from "../components/host/journal";
import { selfRef, isAlive } from "../components/host/process";
import { startFault } from "../chaos/faults";
import { sleep } from "../chaos/measure/loop";
import { timedRequest } from "../chaos/measure/requests";
import { summarize } from "../chaos/measure/stats";
import { runChaos } from "../chaos/runner";
import { chaosTargetFromLocalHandle } from "../components/local/chaos-target";
import { startWatchdog } from "../chaos/watchdog";
import { startFakeSandbox, startWorkload, writeExperiment, FakeSandbox } from "../test/helpers/chaos-fixtures";
import { faultContext, windowOf } from "../test/helpers/chaos-faults";
import { startCli } from "../test/helpers/local-cli";
import { benchTeardown } from "./teardown";

// Every fault, cgroup, Toxiproxy gate, journal, watchdog and child this bench makes goes through the
// teardown (bench/teardown.ts): on SIGINT/SIGTERM at any point it is undone and the bench exits 130/143.
const bench = benchTeardown("chaos");

const r1 = (x: number | undefined) => (x === undefined ? NaN : Math.round(x * 10) / 10);

async function samples(listen: string, n: number, concurrency: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i += concurrency) {
    const batch = await Promise.all(Array.from({ length: Math.min(concurrency, n - i) }, () => timedRequest(listen, { kind: "http", path: "/", send: "" }, 5000)));
    for (const r of batch) if (r.ok && r.latencyMs !== undefined) out.push(r.latencyMs);
  }
  return out;
}

/** A single fault's journal (faultContext): its undo rolls back whatever fault it still holds. */
const faultJournal = (target: Parameters<typeof faultContext>[0], what: string) => bench.make(`${what} (fault journal)`, () => faultContext(target), (ctx) => ctx.close());

async function latencyAccuracy(sb: FakeSandbox) {
  const listen = sb.gate.proxies.api.listen;
  const target = chaosTargetFromLocalHandle(sb.handle);
  await samples(listen, 20, 1); // warm up
  const base = summarize(await samples(listen, 200, 1))!;
  const rows: any[] = [{ configuredMs: 0, n: base.n, p50: base.p50, p99: base.p99, errorP50: 0, errorP99: 0 }];
  for (const [latency, n, conc] of [
    [10, 200, 1],
    [100, 100, 4],
    [1000, 40, 20],
  ]) {
    const ctx = await faultJournal(target, `latency toxic ${latency} ms on ${sb.gate.proxies.api.proxy}`);
    const w = windowOf({ fault: "latency", upstream: "api", duration: "1m", params: { latency: `${latency}ms` } });
    const active = await bench.step(() => startFault(ctx.value, w, w.steps[0].params));
    const s = summarize(await samples(listen, n, conc))!;
    await active.stop();
    await ctx.undo();
    rows.push({ configuredMs: latency, n: s.n, p50: s.p50, p99: s.p99, errorP50: r1(s.p50 - base.p50 - latency), errorP99: r1(s.p99 - base.p99 - latency) });
  }
  return { baseline: base, rows };
}

async function schedulePrecision(sb: FakeSandbox) {
  const file = writeExperiment(
    "bench-ticks",
    `
name: bench-ticks
baseline: 300ms
recovery: 200ms
measure: { interval: 1s }
actions:
  - { name: lat, fault: latency, upstream: api, duration: 150ms, params: { latency: 10ms }, repeat: { every: 300ms, until: 6s } }
  - { name: cpu, fault: cpu, start: 100ms, duration: 150ms, params: { quota: 50% }, repeat: { every: 300ms, until: 6100ms } }
`,
  );
  // The runner rolls back itself when its signal aborts; the teardown waits for that.
  const r = await bench.track(runChaos(chaosTargetFromLocalHandle(sb.handle), file, { signal: bench.signal }));
  const of = (kind: string) => r.report.windows.filter((w) => w.fault === kind);
  const row = (kind: string) => ({
    fault: kind,
    windows: of(kind).length,
    tickToEffectMs: summarize(of(kind).map((w) => w.tickToEffectMs!)),
    undoMs: summarize(of(kind).map((w) => w.rollbackMs!)),
  });
  return { status: r.status, latency: row("latency"), cpu: row("cpu") };
}

async function rollbackAll(sb: FakeSandbox) {
  const file = writeExperiment(
    "bench-rollback",
    `
name: bench-rollback
baseline: 200ms
recovery: 0s
actions:
  - { fault: latency, upstream: api, duration: 30s, params: { latency: 10ms } }
  - { fault: bandwidth, upstream: api, duration: 30s, params: { rate: 1MiB/s } }
  - { fault: packet-loss, upstream: api, duration: 30s, params: { loss: 10% } }
  - { fault: cpu, duration: 30s, params: { quota: 50% } }
  - { fault: pids, duration: 30s, params: { max: 256 } }
  - { fault: memory-max, duration: 30s, params: { limit: 1GiB } }
`,
  );
  const ctl = new AbortController();
  bench.check();
  const running = bench.track(runChaos(chaosTargetFromLocalHandle(sb.handle), file, { signal: AbortSignal.any([ctl.signal, bench.signal]) }));
  await sleep(1500);
  ctl.abort("bench");
  const r = await running;
  return { changes: r.report.rollback.steps.length, totalMs: r1(r.report.rollback.ms), verified: r.report.rollback.verified };
}

async function watchdogRestoreAfterKill(sb: FakeSandbox) {
  const file = writeExperiment(
    "bench-kill",
    "name: bench-kill\nbaseline: 200ms\nrecovery: 0s\nactions:\n  - { fault: latency, upstream: api, duration: 30s, params: { latency: 10ms } }\n  - { fault: cpu, duration: 30s, params: { quota: 50% } }\n",
  );
  bench.check();
  const { child, done } = startCli(["chaos", "run", file, "--sandbox", sb.handle.id]);
  bench.forwardTo(child, "`airlock chaos run`");
  bench.track(done);
  const proxy = sb.gate.proxies.api.proxy;
  for (let i = 0; i < 300 && (await sb.gate.admin.listToxics(proxy)).length === 0; i++) await sleep(50);
  bench.check(); // from here on the watchdog is what restores: a signal waits for it below (done)
  const t0 = performance.now();
  child.kill("SIGKILL");
  while ((await sb.gate.admin.listToxics(proxy)).length > 0 || sb.workload.cg.getLimit("cpu").quotaUs !== null) await sleep(10);
  const restoredMs = Math.round(performance.now() - t0);
  await done;
  return { restoredMs };
}

async function cpuQuotaAccuracy() {
  const rows: any[] = [];
  return bench.using((w) => `busy-loop workload (cgroup ${w.cg.rel})`, () => startWorkload("while :; do :; done"), (w) => w.remove(), async (workload) => {
    const target = { id: "bench-cpu", cgroup: { mode: workload.cg.host.mode, root: workload.cg.host.root, rel: workload.cg.rel }, reportDir: "/nonexistent", isWorkloadAlive: () => true };
    for (const quota of [0.1, 0.2, 0.5]) {
      const ctx = await faultJournal(target, `cpu quota ${quota * 100}% on ${workload.cg.rel}`);
      const w = windowOf({ fault: "cpu", duration: "1m", params: { quota } });
      const active = await bench.step(() => startFault(ctx.value, w, w.steps[0].params));
      await sleep(300);
      const s0 = workload.cg.stats().cpuUsageUsec;
      const t0 = performance.now();
      await sleep(3000);
      const used = (workload.cg.stats().cpuUsageUsec - s0) / 1e6 / ((performance.now() - t0) / 1000);
      await active.stop();
      await ctx.undo();
      rows.push({ quotaPct: quota * 100, usedPct: r1(used * 100), errorPoints: r1((used - quota) * 100) });
    }
    return rows;
  });
}

async function watchdogCost() {
  const t0 = performance.now();
  // Undone by closing its journal and asking it to stop: it exits only once the journal is closed.
  const m = await bench.make(
    (g) => `watchdog (pid ${g.wd.process.pid}) and its journal ${g.journal.owner}`,
    () => {
      const journal = UndoJournal.open(`bench-watchdog-${process.pid}`, { purpose: "bench" });
      return { journal, wd: startWatchdog({ owner: journal.owner, journalFile: journal.file, deadline: new Date(Date.now() + 60_000), runner: selfRef() }) };
    },
    async ({ journal, wd }) => {
      journal.close();
      wd.stop();
      for (let i = 0; i < 100 && isAlive(wd.process); i++) await sleep(20);
    },
  );
  const { wd } = m.value;
  while (!/guarding/.test(fs.existsSync(wd.logFile) ? fs.readFileSync(wd.logFile, "utf8") : "")) await sleep(5);
  const startupMs = Math.round(performance.now() - t0);
  await sleep(1000);
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${wd.process.pid}/status`, "utf8"))![1]);
  const cpu = fs.readFileSync(`/proc/${wd.process.pid}/stat`, "utf8").split(") ")[1].split(" ");
  const cpuMs = (Number(cpu[11]) + Number(cpu[12])) * 10; // utime + stime in clock ticks (100 per second)
  await m.undo();
  return { startupMs, rssMiB: r1(rssKiB / 1024), cpuMsFirstSecond: cpuMs, exitedOnClose: !isAlive(wd.process) };
}

async function main() {
  const results: any = { host: { cpus: os.cpus().length, kernel: os.release(), node: process.version }, at: new Date().toISOString() };
  await bench.using(
    (sb) => `fake sandbox ${sb.handle.id} (Toxiproxy gate pid ${sb.gate.server.process.pid}, workload cgroup ${sb.workload.cg.rel}, upstream ${sb.upstream.address})`,
    () => startFakeSandbox({ workloadScript: "exec sleep 600" }),
    (sb) => sb.cleanup(),
    async (sb) => {
      results.latency = await latencyAccuracy(sb);
      results.schedule = await schedulePrecision(sb);
      results.rollback = await rollbackAll(sb);
      results.watchdogRestore = await watchdogRestoreAfterKill(sb);
    },
  );
  results.cpuQuota = await cpuQuotaAccuracy();
  results.watchdog = await watchdogCost();

  const out: string[] = [];
  out.push("Injected latency through the gate (ms; error = measured - baseline - configured)");
  out.push("  configured      n    p50     p99   error p50  error p99");
  for (const r of results.latency.rows)
    out.push(`  ${(r.configuredMs ? `${r.configuredMs} ms` : "baseline").padEnd(12)} ${String(r.n).padStart(5)} ${String(r.p50).padStart(6)} ${String(r.p99).padStart(7)} ${String(r.errorP50).padStart(11)} ${String(r.errorP99).padStart(10)}`);
  out.push("");
  out.push("Scheduled tick -> fault in effect, and undo time (ms, real runner, journal fsync included)");
  for (const k of ["latency", "cpu"]) {
    const s = results.schedule[k];
    out.push(`  ${k.padEnd(8)} ${s.windows} windows: tick->effect p50 ${r1(s.tickToEffectMs.p50)} p99 ${r1(s.tickToEffectMs.p99)} max ${r1(s.tickToEffectMs.max)};  undo p50 ${r1(s.undoMs.p50)} p99 ${r1(s.undoMs.p99)}`);
  }
  out.push(`  rollback of ${results.rollback.changes} changes at once (aborted run): ${results.rollback.totalMs} ms, verified ${results.rollback.verified}`);
  out.push(`  runner SIGKILLed -> watchdog restored everything in ${results.watchdogRestore.restoredMs} ms`);
  out.push("");
  out.push("CPU quota accuracy (busy loop, 3 s)");
  for (const r of results.cpuQuota) out.push(`  quota ${String(r.quotaPct).padStart(3)}%  used ${String(r.usedPct).padStart(5)}%  error ${r.errorPoints >= 0 ? "+" : ""}${r.errorPoints} points`);
  out.push("");
  out.push(`Watchdog: up in ${results.watchdog.startupMs} ms, ${results.watchdog.rssMiB} MiB resident while waiting, ${results.watchdog.cpuMsFirstSecond} ms CPU in its first ~1.3 s, exits when the journal closes: ${results.watchdog.exitedOnClose}`);
  process.stdout.write(out.join("\n") + "\n");
  fs.mkdirSync(path.join(__dirname, "results"), { recursive: true });
  fs.writeFileSync(path.join(__dirname, "results", "chaos.json"), JSON.stringify(results, null, 2));
}

bench.main(main);
