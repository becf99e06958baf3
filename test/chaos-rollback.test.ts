// Guaranteed rollback, end to end with the real runner: after a normal end, a stop condition, an
// error, SIGTERM, SIGKILL + `airlock recover`, SIGKILL alone (the watchdog), and a hung runner (the
// watchdog's deadline), no toxic, proxy change or cgroup limit remains and the old values are back —
// read back from the Toxiproxy server and from the cgroup files.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { listJournals } from "../components/host/journal";
import { isAlive, refOf } from "../components/host/process";
import { ChainLog, verifyLog } from "../components/record/chain-log";
import { ChaosRunError, runChaos } from "../chaos/runner";
import { chaosTargetFromLocalHandle } from "../components/local/chaos-target";
import { FakeSandbox, startFakeSandbox, writeExperiment } from "./helpers/chaos-fixtures";
import { kernelCpu, kernelMemoryMax, kernelPidsMax } from "./helpers/chaos-cgroup-files";
import { waitFor } from "./helpers/common";
import { proxyView } from "./helpers/toxiproxy-view";
import { describeResult, runCli, startCli } from "./helpers/local-cli";

/**
 * Everything the experiments below change, read straight from the server's HTTP API (not through the
 * wrapper under test) and from the cgroup's kernel files (v1 or v2, whichever this host has; null = no
 * limit). Rollback is judged by this; the runner's own `verified` flag is only checked to agree.
 */
async function hostState(sb: FakeSandbox) {
  const p = await proxyView(sb.gate.server.url, sb.gate.proxies.api.proxy);
  const cg = sb.handle.cgroup;
  return {
    toxics: p.toxics.map((t) => t.type).sort(),
    enabled: p.exists ? p.enabled : undefined,
    cpu: kernelCpu(cg),
    pidsMax: kernelPidsMax(cg),
    memMax: kernelMemoryMax(cg),
  };
}

/** Three faults at once from the start: a latency toxic, a CPU quota, a pids limit. */
const THREE_FAULTS = (opts: { duration: string; maxDuration: string; extra?: string }) => `
name: rollback-check
maxDuration: ${opts.maxDuration}
baseline: 300ms
recovery: 300ms
measure: { interval: 200ms }
${opts.extra ?? ""}
actions:
  - { name: slow, fault: latency, upstream: api, duration: ${opts.duration}, params: { latency: 50ms } }
  - { name: squeeze, fault: cpu, duration: ${opts.duration}, params: { quota: 30% } }
  - { name: few-tasks, fault: pids, duration: ${opts.duration}, params: { max: 64 } }
`;

/**
 * The watchdog of a run, from the first line of its log: "... (pid N): guarding ...". pid is
 * undefined when the log is missing or names no watchdog; ref is undefined when that process is gone.
 */
function watchdogOf(sandboxId: string) {
  const log = path.join(process.env.AIRLOCK_STATE_DIR!, "journals", `chaos-${sandboxId}.watchdog.log`);
  const pid = Number(/\(pid (\d+)\): guarding/.exec(fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "")?.[1]) || undefined;
  return { log, pid, ref: pid ? refOf(pid) : undefined };
}

/** The run's watchdog existed (its log names it) and exits: it may already be gone when we look. */
async function watchdogExits(sandboxId: string, timeoutMs: number) {
  const wd = watchdogOf(sandboxId);
  assert.ok(wd.pid, `the run had a watchdog: its log ${wd.log} names its pid (${fs.existsSync(wd.log) ? "no 'guarding' line" : "no log"})`);
  await waitFor(`the watchdog (pid ${wd.pid}) to exit`, () => !wd.ref || !isAlive(wd.ref), timeoutMs);
}

describe("chaos rollback guarantees (real runner, Toxiproxy and cgroups)", function () {
  this.timeout(60_000);
  let sb: FakeSandbox;
  let clean: Awaited<ReturnType<typeof hostState>>;

  beforeEach(async () => {
    sb = await startFakeSandbox();
    clean = await hostState(sb);
    assert.deepEqual(clean.toxics, []);
  });
  afterEach(async () => {
    await sb.cleanup();
  });

  const applied = async () => {
    const s = await hostState(sb);
    return s.toxics.length > 0 && s.cpu.quotaUs !== null && s.pidsMax !== null ? s : undefined;
  };

  it("normal end: every fault applied on time and undone; old values read back; report and record written", async () => {
    const file = writeExperiment(
      "normal",
      `
name: normal-end
baseline: 500ms
recovery: 500ms
measure: { interval: 100ms }
steadyState:
  probes:
    - { name: api-ok, type: request, upstream: api, within: 1s, interval: 200ms }
actions:
  - { name: slow, fault: latency, upstream: api, duration: 1500ms, params: { latency: 100ms } }
  - { name: squeeze, fault: cpu, duration: 1500ms, params: { quota: 25% } }
  - { name: cap, fault: memory-max, start: 500ms, duration: 1s, params: { limit: 512MiB } }
  - { name: outage, fault: down, upstream: api, start: 1500ms, duration: 1s }
  - { name: lossy, fault: packet-loss, upstream: api, start: 2500ms, duration: 500ms, params: { loss: 50% } }
`,
    );
    let during: Awaited<ReturnType<typeof hostState>> | undefined;
    const spy = setInterval(async () => {
      const s = await hostState(sb).catch(() => undefined);
      if (s && s.toxics.includes("latency") && s.memMax !== clean.memMax) during = s;
    }, 50);
    const r = await runChaos(chaosTargetFromLocalHandle(sb.handle), file).finally(() => clearInterval(spy));
    assert.ok(during, "the faults were in effect on the server and in the cgroup during the run");
    assert.deepEqual(during!.cpu, { quotaUs: 25_000, periodUs: clean.cpu.periodUs });
    assert.equal(during!.memMax, 512 * 2 ** 20);
    assert.equal(r.status, "completed");
    assert.equal(r.aborted, false);
    assert.deepEqual(await hostState(sb), clean, "old values are back");
    assert.ok(r.report.rollback.complete && r.report.rollback.verified, JSON.stringify(r.report.rollback));
    assert.deepEqual(
      r.report.windows.map((w) => [w.id, w.status]),
      [
        ["slow#1", "undone"],
        ["squeeze#1", "undone"],
        ["cap#1", "undone"],
        ["outage#1", "undone"],
        ["lossy#1", "undone"],
      ],
    );
    const lossy = r.report.windows.find((w) => w.id === "lossy#1")!;
    assert.match(lossy.mechanism!, /emulation/);
    assert.match(lossy.mechanismReason!, /sch_netem|netem: true|auto picked/);
    // On time: each fault in effect within its own window (a loaded host delays, but not past the window).
    for (const w of r.report.windows) assert.ok(w.tickToEffectMs! >= 0 && w.tickToEffectMs! < w.plannedEndMs - w.plannedStartMs, `${w.id} in effect ${w.tickToEffectMs} ms after its tick (window ${w.plannedEndMs - w.plannedStartMs} ms)`);
    // The measured effect of the latency fault, against the run's own baseline.
    const slow = r.report.windows[0].effect!.network!;
    // A 100 ms toxic adds at least ~100 ms to the median; a loaded host adds noise, not a second 100 ms.
    assert.ok(slow.addedLatencyMs && slow.addedLatencyMs.p50 >= 90 && slow.addedLatencyMs.p50 < 2 * 100, JSON.stringify(slow));
    const outage = r.report.windows.find((w) => w.id === "outage#1")!.effect!.network!;
    assert.ok(outage.samples >= 3, `requests measured while the gate was down: ${outage.samples}`);
    assert.ok(outage.errorRate > 0.5 && (outage.errorKinds.refused ?? 0) > 0, JSON.stringify(outage));
    assert.equal(r.report.steadyState.before, true);
    assert.equal(r.report.steadyState.after, true);
    // Report files, and the record: chaos-start, then chaos-report with the summary and the paths.
    assert.ok(fs.existsSync(r.reportPath) && fs.existsSync(r.htmlPath));
    const entries = new ChainLog(sb.handle.record).entries();
    const report = entries.find((e) => e.type === "chaos-report")!;
    assert.ok(entries.some((e) => e.type === "chaos-start"));
    assert.equal((report.data as any).files.json, r.reportPath);
    assert.equal((report.data as any).rollback.verified, true);
    assert.ok(verifyLog(sb.handle.record, { allowUnsealed: true }).ok);
    // The journal is closed and the watchdog gone.
    assert.ok(listJournals().find((j) => j.owner === `chaos-${sb.handle.id}`)!.closed);
    await watchdogExits(sb.handle.id, 3000);
  });

  it("abort: a stop condition (probe failures) stops the run early and everything is undone", async () => {
    const file = writeExperiment(
      "abort",
      THREE_FAULTS({
        duration: "20s",
        maxDuration: "30s",
        extra: `steadyState:
  probes:
    - { name: fast, type: request, upstream: api, within: 150ms, interval: 100ms }
stopConditions:
  - { on: probe-failed, probe: fast, consecutive: 2 }`,
      }).replace("latency: 50ms", "latency: 400ms"),
    );
    const t0 = Date.now();
    const r = await runChaos(chaosTargetFromLocalHandle(sb.handle), file);
    assert.equal(r.status, "aborted");
    assert.equal(r.aborted, true);
    assert.equal(r.report.abortReason!.kind, "stop-condition");
    assert.match(r.report.abortReason!.detail, /probe 'fast' failed 2 time/);
    assert.ok(Date.now() - t0 < 20_000 / 2, "stopped long before the 20 s windows ended");
    assert.deepEqual(await hostState(sb), clean);
    assert.ok(r.report.rollback.verified);
  });

  it("abort: a kill-switch event in the sandbox record stops the run", async () => {
    const file = writeExperiment("kill", THREE_FAULTS({ duration: "20s", maxDuration: "30s" }));
    const running = runChaos(chaosTargetFromLocalHandle(sb.handle), file);
    await waitFor("the faults to be applied", applied, 5000);
    sb.record.append("kill", { rule: "canary", detail: "test: canary file read" });
    const r = await running;
    assert.equal(r.status, "aborted");
    assert.match(r.report.abortReason!.detail, /'kill' event in the sandbox record/);
    assert.deepEqual(await hostState(sb), clean);
  });

  it("abort: the workload dying stops the run", async () => {
    const file = writeExperiment("death", THREE_FAULTS({ duration: "20s", maxDuration: "30s" }));
    const running = runChaos(chaosTargetFromLocalHandle(sb.handle), file);
    await waitFor("the faults to be applied", applied, 5000);
    await sb.workload.cg.kill();
    const r = await running;
    assert.equal(r.status, "aborted");
    assert.match(r.report.abortReason!.detail, /workload is no longer running/);
    assert.deepEqual(await hostState(sb), clean);
  });

  it("error: a fault that cannot be applied mid-run fails the run, and what was applied is undone", async () => {
    const file = writeExperiment(
      "error",
      `
name: error-midway
baseline: 200ms
recovery: 200ms
actions:
  - { name: squeeze, fault: cpu, duration: 3s, params: { quota: 40% } }
  - { name: slow, fault: latency, upstream: api, start: 1s, duration: 1s, params: { latency: 20ms } }
`,
    );
    const running = runChaos(chaosTargetFromLocalHandle(sb.handle), file);
    await waitFor("the CPU quota", async () => (await hostState(sb)).cpu.quotaUs === 40_000, 5000);
    await sb.gate.admin.removeProxy(sb.gate.proxies.api.proxy); // the gate loses the proxy under the runner
    await assert.rejects(running, (e: any) => {
      assert.ok(e instanceof ChaosRunError, String(e));
      assert.match(e.message, /starting slow#1 failed: .*proxy/);
      assert.equal(e.report.status, "error");
      assert.ok(e.report.rollback.complete && e.report.rollback.verified);
      assert.ok(fs.existsSync(e.reportPath));
      return true;
    });
    const after = await hostState(sb);
    assert.deepEqual({ ...after, toxics: after.toxics }, { ...clean, toxics: [], enabled: undefined }, "the CPU quota applied before the error is undone (and the proxy the test removed has no toxic left)");
  });

  it("SIGTERM to `airlock chaos run`: it undoes everything, writes the report, and exits 143", async () => {
    const file = writeExperiment("sigterm", THREE_FAULTS({ duration: "30s", maxDuration: "1m" }));
    const cli = startCli(["chaos", "run", file, "--sandbox", sb.handle.id, "--json"]);
    await waitFor("the faults to be applied", applied, 60_000); // a CLI start on a loaded host takes seconds
    cli.child.kill("SIGTERM");
    const out = await cli.done;
    assert.equal(out.code, 143, describeResult(out));
    assert.deepEqual(await hostState(sb), clean);
    const result = JSON.parse(out.stdout.slice(out.stdout.indexOf("{")));
    assert.equal(result.status, "interrupted");
    assert.equal(result.rollback.verified, true);
    assert.ok(fs.existsSync(result.report.json));
    await watchdogExits(sb.handle.id, 3000);
  });

  it("SIGKILL of the runner and its watchdog (a crash): the faults stay until `airlock recover` undoes them", async () => {
    const file = writeExperiment("sigkill", THREE_FAULTS({ duration: "30s", maxDuration: "1m" }));
    const cli = startCli(["chaos", "run", file, "--sandbox", sb.handle.id]);
    const during = await waitFor("the faults to be applied", applied, 60_000); // a CLI start on a loaded host takes seconds
    const wd = await waitFor("the watchdog", () => watchdogOf(sb.handle.id).ref, 3000);
    process.kill(wd.pid, "SIGKILL");
    cli.child.kill("SIGKILL");
    await cli.done;
    // Once both are gone nothing can undo anything: no need to wait "long enough".
    const runner = listJournals().find((j) => j.owner === `chaos-${sb.handle.id}` && !j.closed)!.runner;
    await waitFor("the runner and its watchdog to be gone", () => !isAlive(wd) && !isAlive(runner), 5000);
    assert.deepEqual(await hostState(sb), during, "nothing undid the faults: runner and watchdog are gone");
    const rec = await runCli(["recover", "--json"]);
    assert.equal(rec.code, 0, describeResult(rec));
    const out = JSON.parse(rec.stdout);
    const mine = out.journals.find((j: any) => j.owner === `chaos-${sb.handle.id}`);
    assert.equal(mine.action, "undone");
    assert.deepEqual(
      mine.steps.map((s: any) => s.kind),
      ["cgroup-limit", "cgroup-limit", "toxiproxy-toxic"],
      "undone newest first",
    );
    assert.deepEqual(await hostState(sb), clean);
    const again = await runCli(["recover", "--json"]);
    assert.equal(again.code, 0, describeResult(again));
    assert.equal(JSON.parse(again.stdout).journals.filter((j: any) => j.owner === `chaos-${sb.handle.id}`).length, 0, "a second recover has nothing to do");
  });

  it("SIGKILL of the runner alone: the watchdog undoes everything on its own (no `airlock recover`)", async () => {
    const file = writeExperiment("watchdog", THREE_FAULTS({ duration: "30s", maxDuration: "1m" }));
    const cli = startCli(["chaos", "run", file, "--sandbox", sb.handle.id]);
    await waitFor("the faults to be applied", applied, 60_000); // a CLI start on a loaded host takes seconds
    const wd = await waitFor("the watchdog", () => watchdogOf(sb.handle.id).ref, 3000);
    cli.child.kill("SIGKILL");
    await cli.done;
    const t0 = Date.now();
    await waitFor("the watchdog to restore the old values", async () => JSON.stringify(await hostState(sb)) === JSON.stringify(clean), 10_000);
    process.stdout.write(`      watchdog restored everything ${Date.now() - t0} ms after the runner's SIGKILL\n`);
    await waitFor("the watchdog to exit", () => !isAlive(wd), 5000);
    assert.ok(listJournals().find((j) => j.owner === `chaos-${sb.handle.id}`)!.closed);
    assert.match(fs.readFileSync(watchdogOf(sb.handle.id).log, "utf8"), /the runner is gone[\s\S]*undone/);
  });

  it("a hung runner (SIGSTOP): the watchdog enforces maxDuration — terminates it at the deadline and undoes", async () => {
    const file = writeExperiment("hung", THREE_FAULTS({ duration: "3s", maxDuration: "4s" }));
    const cli = startCli(["chaos", "run", file, "--sandbox", sb.handle.id]);
    await waitFor("the faults to be applied", applied, 60_000); // a CLI start on a loaded host takes seconds
    const wd = await waitFor("the watchdog", () => watchdogOf(sb.handle.id).ref, 3000);
    const started = Date.now();
    cli.child.kill("SIGSTOP");
    const journal = listJournals().find((j) => j.owner === `chaos-${sb.handle.id}` && !j.closed)!;
    await waitFor("the watchdog to restore the old values", async () => JSON.stringify(await hostState(sb)) === JSON.stringify(clean), 25_000);
    const restoredAt = Date.now();
    assert.ok(restoredAt >= journal.deadline!.getTime() - 100, "not before the deadline (the runner was alive, only stopped)");
    process.stdout.write(`      restored ${((restoredAt - journal.deadline!.getTime()) / 1000).toFixed(1)} s after the journal deadline (${((restoredAt - started) / 1000).toFixed(1)} s after the hang)\n`);
    // Terminated by the watchdog at the deadline: SIGTERM (with SIGCONT, so the stopped runner can
    // act on it and undo its own faults: exit 143), or SIGKILL if it did not react in time.
    const r = await cli.done;
    assert.ok(r.code === 143 || r.signal === "SIGKILL", `runner: ${describeResult(r)}`);
    await waitFor("the watchdog to exit", () => !isAlive(wd), 5000);
    assert.match(fs.readFileSync(watchdogOf(sb.handle.id).log, "utf8"), /the deadline passed/);
  });
});
