// Resource starvation through cgroup limits, on the real cgroups of this host (v1 hybrid here) and on
// a v2-shaped tree. Effects are measured by reading the kernel's own counters directly from the
// cgroup files (not through the code under test); old values are read back after every undo.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { Cgroup, cgroupRef, detectCgroupHost } from "../components/host/cgroup";
import { startFault } from "../chaos/faults";
import { probeTarget } from "../chaos/capabilities";
import { validateExperiment } from "../chaos/experiment/validate";
import type { ChaosTarget } from "../chaos/target";
import { startWorkload, Workload } from "./helpers/chaos-fixtures";
import { faultContext, TestFaultContext, windowOf } from "./helpers/chaos-faults";
import { kernelCpu, kernelCpuThrottling, kernelIo, kernelMemoryMax, kernelMemoryUsed, kernelPidsMax, readKfile, readText } from "./helpers/chaos-cgroup-files";
import { skipBecause, sleep, waitFor } from "./helpers/common";

const HOST = detectCgroupHost();

function cgTarget(cg: Cgroup): ChaosTarget {
  return { id: `cg${process.pid}`, cgroup: cgroupRef(cg), reportDir: "/nonexistent", isWorkloadAlive: () => cg.processes().length > 0 };
}

/** CPU time used by the cgroup, in seconds, straight from the kernel's accounting. */
function cpuSeconds(cg: Cgroup): number {
  if (HOST.mode === "v2") return Number(/usage_usec (\d+)/.exec(readKfile(cg, "cpu", "cpu.stat"))![1]) / 1e6;
  return Number(readKfile(cg, "cpuacct", "cpuacct.usage")) / 1e9;
}

async function coresUsed(cg: Cgroup, ms: number): Promise<number> {
  const [c0, t0] = [cpuSeconds(cg), performance.now()];
  await sleep(ms);
  return (cpuSeconds(cg) - c0) / ((performance.now() - t0) / 1000);
}

/** The root disk (MAJ:MIN and /dev node), from mountinfo, if it is a whole disk under /sys/block. */
function rootDisk(): { mm: string; node: string } | undefined {
  const line = readText("/proc/self/mountinfo")
    .split("\n")
    .find((l) => l.split(" ")[4] === "/");
  const mm = line?.split(" ")[2];
  const name = fs.readdirSync("/sys/block").find((d) => readText(`/sys/block/${d}/dev`) === mm);
  return mm && name ? { mm, node: `/dev/${name}` } : undefined;
}

describe(`chaos resource starvation on this host's cgroups (${HOST.mode}${HOST.hybrid ? " hybrid" : ""})`, function () {
  this.timeout(60_000);
  let workload: Workload | undefined;
  let ctx: TestFaultContext | undefined;
  const tmpDirs: string[] = [];

  afterEach(async () => {
    await ctx?.close();
    await workload?.remove();
    ctx = workload = undefined;
    for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it("a 20% CPU quota: the kernel throttles the busy loop (cpu.stat) and it never gets more than 20%, while an unthrottled twin does; undone, the throttling stops", async () => {
    // Judged by the kernel's own accounting and a same-run control, not by a CPU share the host may
    // not have to give: on a loaded host the loop gets less, never more, than its quota.
    workload = await startWorkload("while :; do :; done");
    const twin = await startWorkload("while :; do :; done");
    try {
      ctx = faultContext(cgTarget(workload.cg));
      const before = kernelCpu(workload.cg);
      assert.equal(before.quotaUs, null, "a fresh cgroup has no CPU quota");
      const w = windowOf({ fault: "cpu", duration: "10s", params: { quota: "20%" } });
      const active = await startFault(ctx, w, w.steps[0].params);
      assert.deepEqual(kernelCpu(workload.cg), { quotaUs: 20_000, periodUs: 100_000 }, "the kernel has the 20% quota");
      const t0 = kernelCpuThrottling(workload.cg);
      const [used, twinUsed] = await Promise.all([coresUsed(workload.cg, 2000), coresUsed(twin.cg, 2000)]);
      const t1 = kernelCpuThrottling(workload.cg);
      assert.ok(t1.nrThrottled > t0.nrThrottled && t1.throttledUs > t0.throttledUs, `the kernel did not throttle the loop: ${JSON.stringify([t0, t1])}`);
      // The quota is an upper bound (one period of slack for the edges of the measurement).
      assert.ok(used <= 0.2 * 1.1 + 0.1 / 2, `the throttled loop used ${used.toFixed(3)} of a core under a 20% quota`);
      assert.ok(twinUsed > used * 1.5, `the unthrottled twin used ${twinUsed.toFixed(3)} cores, the throttled loop ${used.toFixed(3)}: the quota made no difference`);
      await active.stop();
      assert.deepEqual(kernelCpu(workload.cg), before, "the kernel's quota and period are the old ones");
      assert.deepEqual(workload.cg.getLimit("cpu"), { quotaUs: before.quotaUs, periodUs: before.periodUs });
      const t2 = kernelCpuThrottling(workload.cg);
      const free = await coresUsed(workload.cg, 1000);
      const t3 = kernelCpuThrottling(workload.cg);
      assert.equal(t3.nrThrottled, t2.nrThrottled, "still throttled after the undo");
      assert.ok(free > used, `after the undo the loop got ${free.toFixed(2)} cores, under the quota ${used.toFixed(2)}`);
    } finally {
      await twin.remove();
    }
  });

  it("ramping the CPU quota rewrites the limit; the undo restores the original, not the last step", async () => {
    workload = await startWorkload("exec sleep 600");
    ctx = faultContext(cgTarget(workload.cg));
    const w = windowOf({ fault: "cpu", duration: "10s", params: { period: "50ms" }, ramp: { steps: 2, from: { quota: "50%" }, to: { quota: "10%" } } });
    const before = kernelCpu(workload.cg);
    assert.deepEqual(before, { quotaUs: null, periodUs: 100_000 }, "the kernel's defaults");
    const active = await startFault(ctx, w, w.steps[0].params);
    assert.deepEqual(kernelCpu(workload.cg), { quotaUs: 25_000, periodUs: 50_000 });
    await active.update(w.steps[1].params);
    assert.deepEqual(kernelCpu(workload.cg), { quotaUs: 5_000, periodUs: 50_000 });
    await active.stop();
    assert.deepEqual(kernelCpu(workload.cg), before, "the original quota and period, not the last step's");
    assert.deepEqual(workload.cg.getLimit("cpu"), { quotaUs: null, periodUs: 100_000 });
  });

  it("pids.max stops a fork loop: tasks stay at the limit and the kernel counts refused forks", async () => {
    workload = await startWorkload("while :; do sleep 3 & done", { paused: true });
    ctx = faultContext(cgTarget(workload.cg));
    const w = windowOf({ fault: "pids", duration: "10s", params: { max: 16 } });
    const active = await startFault(ctx, w, w.steps[0].params);
    workload.go();
    // Until the kernel has refused a fork at the limit (pids.events), however long a loaded host takes.
    const refused = await waitFor("a fork refused at the limit", () => Number(/max (\d+)/.exec(readKfile(workload!.cg, "pids", "pids.events"))![1]) || undefined, 15_000);
    const current = Number(readKfile(workload.cg, "pids", "pids.current"));
    assert.ok(current <= 16, `pids.current ${current} with pids.max 16`);
    assert.ok(refused > 0, "fork() failed at the limit (pids.events max > 0)");
    await workload.cg.kill(); // the loop would be unbounded once the limit is undone
    await active.stop();
    assert.equal(readKfile(workload.cg, "pids", "pids.max"), "max");
  });

  it("memory.max on a process that allocates: the limit is hit and the OOM kill is counted", async () => {
    // tail keeps its whole (newline-free) input in memory: it grows until the limit stops it.
    workload = await startWorkload("head -c 400M /dev/zero | tail", { paused: true });
    ctx = faultContext(cgTarget(workload.cg));
    const old = kernelMemoryMax(workload.cg);
    assert.equal(old, null, "a fresh cgroup has no memory limit");
    const w = windowOf({ fault: "memory-max", duration: "10s", params: { limit: "32MiB" } });
    const active = await startFault(ctx, w, w.steps[0].params);
    assert.equal(kernelMemoryMax(workload.cg), 32 * 2 ** 20, "the kernel has the 32 MiB limit");
    workload.go();
    const deadline = Date.now() + 10_000;
    let oomKills = 0;
    let limitHits = 0;
    while (Date.now() < deadline) {
      if (HOST.mode === "v2") {
        const ev = readKfile(workload.cg, "memory", "memory.events");
        oomKills = Number(/oom_kill (\d+)/.exec(ev)![1]);
        limitHits = Number(/^max (\d+)/m.exec(ev)![1]);
      } else {
        oomKills = Number(/oom_kill (\d+)/.exec(readKfile(workload.cg, "memory", "memory.oom_control"))![1]);
        limitHits = Number(readKfile(workload.cg, "memory", "memory.failcnt"));
      }
      if (oomKills > 0) break;
      await sleep(100);
    }
    assert.ok(limitHits > 0, "the limit was hit");
    assert.ok(oomKills >= 1, "the allocating process was OOM-killed at the limit");
    await active.stop();
    assert.equal(kernelMemoryMax(workload.cg), old, "the kernel's limit is back to none");
    assert.equal(workload.cg.getLimit("memory.max"), old);
  });

  const NO_ROOT_DISK = "the root filesystem is not on a whole disk listed under /sys/block (e.g. overlay or a partition)";

  it("IO limits on the root disk are written to the kernel and removed by the undo", async function () {
    const root = rootDisk();
    if (!root) return skipBecause(this, NO_ROOT_DISK);
    const disk = root.mm;
    workload = await startWorkload("exec sleep 600");
    ctx = faultContext(cgTarget(workload.cg));
    assert.deepEqual(kernelIo(workload.cg, disk), { rbps: null, wbps: null, riops: null, wiops: null }, "no IO limit before");
    const w = windowOf({ fault: "io", duration: "10s", params: { device: disk, readBps: "512KiB/s", writeIops: 100 } });
    const active = await startFault(ctx, w, w.steps[0].params);
    if (HOST.mode === "v1") {
      assert.match(readKfile(workload.cg, "blkio", "blkio.throttle.read_bps_device"), new RegExp(`^${disk} 524288$`, "m"));
      assert.match(readKfile(workload.cg, "blkio", "blkio.throttle.write_iops_device"), new RegExp(`^${disk} 100$`, "m"));
    } else assert.match(readKfile(workload.cg, "io", "io.max"), new RegExp(`^${disk} rbps=524288 wbps=max riops=max wiops=100$`, "m"));
    assert.deepEqual(kernelIo(workload.cg, disk), { rbps: 524288, wbps: null, riops: null, wiops: 100 });
    assert.deepEqual(workload.cg.getLimit("io", disk), { rbps: 524288, wbps: null, riops: null, wiops: 100 });
    await active.stop();
    assert.deepEqual(kernelIo(workload.cg, disk), { rbps: null, wbps: null, riops: null, wiops: null }, "the kernel has no IO limit for the disk after the undo");
    assert.deepEqual(workload.cg.getLimit("io", disk), { rbps: null, wbps: null, riops: null, wiops: null });
  });

  it("an IO read limit of 512 KiB/s throttles direct reads of a file on the root disk (1.5 MiB take >= 2 s)", async function () {
    const root = rootDisk();
    if (!root) return skipBecause(this, NO_ROOT_DISK);
    const disk = root.mm;
    // Direct reads of a file on the root disk (the raw device may be off limits in a container).
    const dir = fs.mkdtempSync("/var/tmp/airlock-chaos-io-");
    tmpDirs.push(dir);
    const probe = path.join(dir, "probe");
    fs.writeFileSync(probe, Buffer.alloc(2 << 20, 7));
    const st = fs.statSync(probe);
    const dev = `${(st.dev >> 8) & 0xfff}:${(st.dev & 0xff) | ((st.dev >> 12) & 0xfff00)}`;
    if (dev !== disk) return skipBecause(this, `/var/tmp is on device ${dev}, not on the root disk ${disk} (${root.node}): no file to read directly from the throttled disk`);
    const dd = ["dd", `if=${probe}`, "of=/dev/null", "bs=64k", "count=24", "iflag=direct"];
    // Positive control: the same reads without a limit are fast (and O_DIRECT works on this filesystem).
    const c0 = performance.now();
    const control = spawnSync(dd[0], dd.slice(1), { encoding: "utf8" });
    const controlS = (performance.now() - c0) / 1000;
    if (control.status !== 0 && /Invalid argument|not supported/i.test(control.stderr)) return skipBecause(this, `the filesystem of /var/tmp refuses O_DIRECT reads: ${control.stderr.trim()}`);
    assert.equal(control.status, 0, control.stderr);
    workload = await startWorkload(`exec ${dd.join(" ")}`, { paused: true });
    ctx = faultContext(cgTarget(workload.cg));
    const w = windowOf({ fault: "io", duration: "10s", params: { device: disk, readBps: "512KiB/s" } });
    const active = await startFault(ctx, w, w.steps[0].params);
    // 1.5 MiB at 512 KiB/s: about 3 s (the first 512 KiB may pass at once).
    const t0 = performance.now();
    workload.go();
    const code = await workload.exited;
    const s = (performance.now() - t0) / 1000;
    assert.equal(code, 0, "dd read the file under the limit");
    // The limit is a lower bound on the time whatever the load; the same reads unthrottled, in this run, are the control.
    assert.ok(s >= 2.0, `1.5 MiB of direct reads took ${s.toFixed(2)} s under a 512 KiB/s limit (unthrottled: ${controlS.toFixed(2)} s)`);
    assert.ok(s > 2 * controlS, `throttled ${s.toFixed(2)} s vs unthrottled ${controlS.toFixed(2)} s: the limit made no difference`);
    await active.stop();
    assert.deepEqual(kernelIo(workload.cg, disk), { rbps: null, wbps: null, riops: null, wiops: null });
  });

  it("memory-high where the host lacks it (cgroup v1) is refused before anything is applied, with the reason", async function () {
    if (HOST.mode === "v2") return skipBecause(this, "this host is cgroup v2: memory.high exists (tested for real below)");
    workload = await startWorkload();
    const probe = await probeTarget(cgTarget(workload.cg), { packetLoss: false });
    const r = validateExperiment({ name: "pressure", actions: [{ fault: "memory-high", duration: "5s", params: { limit: "256MiB" } }] }, probe.context);
    assert.ok(!r.ok);
    const issue = r.issues.find((i) => i.path === "actions[0].fault")!;
    assert.match(issue.message, /cgroup v1 has no memory.high/);
    assert.match(issue.message, /hybrid/);
    assert.match(issue.fix, /memory-max/);
  });

  it("a memory limit below the workload's real current use is refused without force (probed from the cgroup)", async () => {
    // A process that holds 60 MiB resident (Buffer.alloc fills it).
    workload = await startWorkload(`exec ${process.execPath} -e "const b = Buffer.alloc(60 << 20, 1); setInterval(() => b[0]++, 1000)"`);
    await waitFor("the workload to hold its 60 MiB (the kernel's count)", () => kernelMemoryUsed(workload!.cg) > 40 * 2 ** 20, 10_000);
    const probe = await probeTarget(cgTarget(workload.cg), { packetLoss: false });
    assert.ok(probe.context.cgroup!.memoryCurrent > 40 * 2 ** 20, `workload uses ${probe.context.cgroup!.memoryCurrent} bytes`);
    const doc = (force: boolean) => ({ name: "squeeze", actions: [{ fault: "memory-max", duration: "5s", params: { limit: "16MiB", force } }] });
    const r = validateExperiment(doc(false), probe.context);
    assert.ok(!r.ok && /below the workload's current memory use/.test(r.issues[0].message));
    assert.ok(validateExperiment(doc(true), probe.context).ok);
  });
});

describe("chaos resource starvation on a cgroup v2-shaped tree (the v2 code paths)", () => {
  let root: string;
  let cg: Cgroup;
  let ctx: TestFaultContext;
  const files = { "cpu.max": "max 100000", "memory.max": "max", "memory.high": "max", "pids.max": "max", "io.max": "", "cgroup.procs": "" };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "chaos-v2-tree-"));
    cg = new Cgroup({ mode: "v2", root, hybrid: false }, "sandbox/workload");
    fs.mkdirSync(path.join(root, cg.rel), { recursive: true });
    for (const [f, v] of Object.entries(files)) fs.writeFileSync(path.join(root, cg.rel, f), v);
    ctx = faultContext({ id: "v2tree", cgroup: cgroupRef(cg), reportDir: "/nonexistent", isWorkloadAlive: () => true });
  });
  afterEach(async () => {
    await ctx.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  // The tree's files through the shared reader (on v2 the controller argument plays no part).
  const file = (f: string) => readKfile(cg, f.split(".")[0], f);

  const cases: [string, object, string, string][] = [
    ["cpu", { quota: "20%" }, "cpu.max", "20000 100000"],
    ["memory-max", { limit: "256MiB" }, "memory.max", String(256 * 2 ** 20)],
    ["memory-high", { limit: "64MiB" }, "memory.high", String(64 * 2 ** 20)],
    ["pids", { max: 32 }, "pids.max", "32"],
    ["io", { device: "254:0", readBps: "1MiB/s", writeIops: 50 }, "io.max", "254:0 rbps=1048576 wbps=max riops=max wiops=50"],
  ];
  for (const [fault, params, f, expected] of cases)
    it(`${fault} writes ${f} (${expected}) and the undo writes the old value back`, async () => {
      const old = file(f);
      const w = windowOf({ fault, duration: "5s", params });
      const active = await startFault(ctx, w, w.steps[0].params);
      assert.equal(file(f), expected);
      assert.match(active.mechanism, new RegExp(`cgroup v2 ${f.replace(".", "\\.")}`));
      await active.stop();
      if (fault === "io") {
        assert.equal(file(f), "254:0 rbps=max wbps=max riops=max wiops=max"); // v2 "no limit" for the device
        assert.deepEqual(kernelIo(cg, "254:0"), { rbps: null, wbps: null, riops: null, wiops: null });
      } else assert.equal(file(f), old);
    });

  it("undoing several limits at once restores every old value, newest first", async () => {
    for (const [fault, params] of cases.slice(0, 4)) {
      const w = windowOf({ fault, duration: "5s", params });
      await startFault(ctx, w, w.steps[0].params);
    }
    assert.equal(file("cpu.max"), "20000 100000");
    assert.deepEqual([kernelCpu(cg), kernelMemoryMax(cg), kernelPidsMax(cg)], [{ quotaUs: 20_000, periodUs: 100_000 }, 256 * 2 ** 20, 32]);
    const outcomes = await ctx.journal.undoAll();
    assert.deepEqual(
      outcomes.map((o) => o.step.kind),
      ["cgroup-limit", "cgroup-limit", "cgroup-limit", "cgroup-limit"],
    );
    assert.ok(outcomes[0].step.label.includes("pids.max") && outcomes[3].step.label.includes(" cpu:"), "undone in reverse order");
    for (const f of ["cpu.max", "memory.max", "memory.high", "pids.max"]) assert.equal(file(f), files[f as keyof typeof files]);
    assert.deepEqual([kernelCpu(cg), kernelMemoryMax(cg), kernelPidsMax(cg)], [{ quotaUs: null, periodUs: 100_000 }, null, null]);
    assert.deepEqual(ctx.journal.pending(), [], "nothing left for a later recovery");
  });
});

describe("chaos resource starvation on real cgroup v2", function () {
  this.timeout(30_000);
  before(function () {
    if (HOST.mode !== "v2") {
      const unified = "/sys/fs/cgroup/unified/cgroup.controllers";
      const ctrls = fs.existsSync(unified) ? readText(unified) || "(none)" : "(no unified mount)";
      skipBecause(this, `this host is cgroup v1${HOST.hybrid ? ` hybrid: its v2 mount has controllers '${ctrls}', not cpu/memory/pids` : ""}; these measure the real kernel — the v2 code paths run on a v2-shaped tree above and, CLI to recovery, in chaos-standins.test.ts`);
    }
  });

  it("memory.high throttles an allocating workload without an OOM kill (high events counted)", async () => {
    const workload = await startWorkload("head -c 200M /dev/zero | tail; sleep 600", { paused: true });
    const ctx = faultContext(cgTarget(workload.cg));
    try {
      const w = windowOf({ fault: "memory-high", duration: "10s", params: { limit: "48MiB" } });
      const active = await startFault(ctx, w, w.steps[0].params);
      workload.go();
      await waitFor("memory.high to be crossed", () => Number(/^high (\d+)/m.exec(readKfile(workload.cg, "memory", "memory.events"))![1]) > 0, 15_000);
      const ev = readKfile(workload.cg, "memory", "memory.events");
      assert.equal(Number(/oom_kill (\d+)/.exec(ev)![1]), 0, "no OOM kill under memory.high");
      await active.stop();
      assert.equal(readKfile(workload.cg, "memory", "memory.high"), "max");
    } finally {
      await ctx.close();
      await workload.remove();
    }
  });

  it("a 20% quota: the kernel throttles a busy loop (cpu.stat) and it never gets more than 20% of a core", async () => {
    const workload = await startWorkload("while :; do :; done");
    const ctx = faultContext(cgTarget(workload.cg));
    try {
      const w = windowOf({ fault: "cpu", duration: "10s", params: { quota: "20%" } });
      const active = await startFault(ctx, w, w.steps[0].params);
      assert.deepEqual(kernelCpu(workload.cg), { quotaUs: 20_000, periodUs: 100_000 });
      const t0 = kernelCpuThrottling(workload.cg);
      const used = await coresUsed(workload.cg, 2000);
      const t1 = kernelCpuThrottling(workload.cg);
      assert.ok(t1.nrThrottled > t0.nrThrottled, `not throttled: ${JSON.stringify([t0, t1])}`);
      assert.ok(used <= 0.2 * 1.1 + 0.05, `${used}`);
      await active.stop();
      assert.equal(readKfile(workload.cg, "cpu", "cpu.max"), "max 100000");
    } finally {
      await ctx.close();
      await workload.remove();
    }
  });
});
