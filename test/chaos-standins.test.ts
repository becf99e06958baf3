// The code paths behind the named skips, run here against faithful stand-ins (helpers/standins.ts):
// a kernel with sch_netem (tc turns netem into pfifo; HTB, classes, filters and undo are real), a
// Toxiproxy with the packet_loss toxic (an admin front over the real server), and cgroup v2 (a
// v2-shaped tree). Each goes through the CLI a researcher uses — `airlock chaos validate|run` and
// `airlock recover` in fresh processes — and is judged by reading the kernel (tc), the server (its
// HTTP API) or the cgroup files. Only the real-kernel/real-server measurements (is a packet really
// lost, is a chunk really dropped, does memory.high really throttle) keep their named skips, in
// chaos-network.test.ts and chaos-cgroup.test.ts.
import * as assert from "assert";
import * as fs from "fs";
import { spawnSync } from "child_process";
import { saveHandle } from "../components/local/handle";
import { isAlive, refOf } from "../components/host/process";
import { listJournals } from "../components/host/journal";
import { FakeSandbox, startFakeSandbox, writeExperiment } from "./helpers/chaos-fixtures";
import { createTestNetns, TestNetns } from "./helpers/chaos-netem";
import { describeResult, runCli, startCli } from "./helpers/local-cli";
import { tcWithNetem, TcStandIn, toxiproxyWithPacketLoss, ToxiproxyFront, v2Tree, V2Tree, V2_FILES } from "./helpers/standins";
import { proxyView } from "./helpers/toxiproxy-view";
import { waitFor } from "./helpers/common";

const tcShow = (ns: string | undefined, what: "qdisc" | "filter", dev: string) => spawnSync("tc", [...(ns ? ["-n", ns] : []), what, "show", "dev", dev], { encoding: "utf8" }).stdout;
const cli = (args: string[], env?: NodeJS.ProcessEnv) => runCli(args, { env: { ...(env ?? {}), AIRLOCK_QUIET: "1" }, timeoutMs: 90_000 });

describe("chaos code paths on stand-ins for what this host lacks (netem, packet_loss, cgroup v2)", function () {
  this.timeout(120_000);

  describe("tc netem (a stand-in tc: netem -> pfifo, the rest real)", () => {
    let sb: FakeSandbox;
    let ns: TestNetns;
    let tc: TcStandIn;
    before(async () => {
      sb = await startFakeSandbox();
      ns = createTestNetns();
      tc = tcWithNetem();
      // The fake sandbox gets a real network: the namespace's eth0 (upstream side) and its host veth (downstream side).
      saveHandle({ ...sb.handle, netns: ns.netns, sandboxIface: "eth0", hostIface: ns.hostIface });
    });
    after(async () => {
      ns?.remove();
      tc?.remove();
      await sb?.cleanup();
    });

    it("validate: auto picks netem where 'the kernel' has it, and the probe refuses an interface with someone else's root qdisc", async () => {
      const exp = (stream: string, mechanism: string) =>
        writeExperiment("netem-pick", `name: netem-pick\nactions:\n  - { fault: packet-loss, upstream: api, stream: ${stream}, duration: 2s, params: { loss: 30%, mechanism: ${mechanism} } }\n`);
      const auto = await cli(["chaos", "validate", exp("downstream", "auto"), "--sandbox", sb.handle.id, "--json"], tc.env());
      assert.equal(auto.code, 0, describeResult(auto));
      assert.equal(JSON.parse(auto.stdout).windows[0].mechanism.mechanism, "netem");
      // Someone else's shaping on the upstream side (the namespace's eth0): refused with the reason.
      assert.equal(spawnSync("tc", ["-n", ns.netns, "qdisc", "add", "dev", "eth0", "root", "handle", "7:", "htb", "default", "1"]).status, 0);
      try {
        const refused = await cli(["chaos", "validate", exp("upstream", "netem"), "--sandbox", sb.handle.id], tc.env());
        assert.equal(refused.code, 2, describeResult(refused));
        assert.match(refused.stderr, /actions\[0\]\.params\.mechanism: packet-loss mechanism 'netem' is not available here: interface eth0 has a 'htb' root qdisc; netem would replace it and it could not be restored/);
        assert.match(tcShow(ns.netns, "qdisc", "eth0"), /qdisc htb 7: root/, "the probe changed the foreign qdisc");
      } finally {
        spawnSync("tc", ["-n", ns.netns, "qdisc", "del", "dev", "eth0", "root"]);
      }
      // Without the stand-in (this host's real kernel) the same auto choice falls back: the stand-in is what made the difference.
      const real = await cli(["chaos", "validate", exp("downstream", "auto"), "--sandbox", sb.handle.id, "--json"]);
      assert.notEqual(JSON.parse(real.stdout).windows[0].mechanism.mechanism, "netem");
    });

    it("run: the scoped qdisc is installed on the right interface for each stream, ramped, and removed — read from tc", async () => {
      const file = writeExperiment(
        "netem-run",
        `name: netem-run
baseline: 200ms
recovery: 200ms
measure: { interval: 200ms }
actions:
  - { name: down-loss, fault: packet-loss, upstream: api, stream: downstream, duration: 6s, params: { mechanism: netem, correlation: 25% }, ramp: { steps: 2, from: { loss: 10% }, to: { loss: 40% } } }
  - { name: up-loss, fault: packet-loss, upstream: api, stream: upstream, duration: 6s, params: { mechanism: netem, loss: 5% } }
`,
      );
      const port = sb.handle.gate.proxies.api.listen.split(":").pop()!;
      const run = startCli(["chaos", "run", file, "--sandbox", sb.handle.id, "--json"], { env: { ...tc.env(), AIRLOCK_QUIET: "1" } });
      // During the run: Airlock's HTB root on both interfaces, the leaf, and a filter on the gate port.
      const seen = await waitFor("the qdiscs on both interfaces", () => {
        const host = tcShow(undefined, "qdisc", ns.hostIface);
        const inner = tcShow(ns.netns, "qdisc", "eth0");
        const hostFilter = tcShow(undefined, "filter", ns.hostIface);
        const innerFilter = tcShow(ns.netns, "filter", "eth0");
        // Complete once both filters are in (the qdisc comes first, the filter last, in one step).
        return /qdisc htb a1a0: root/.test(host) && /qdisc htb a1a0: root/.test(inner) && /flowid a1a0:30/.test(hostFilter) && /flowid a1a0:30/.test(innerFilter) ? { host, inner, hostFilter, innerFilter } : undefined;
      }, 60_000); // the CLI's start on a loaded host takes seconds; the windows last 6 s
      assert.match(seen.host, /qdisc pfifo 30: parent a1a0:30/, "the leaf (pfifo standing in for netem)");
      const hex = Number(port).toString(16).padStart(4, "0");
      assert.match(seen.hostFilter, new RegExp(`match ${hex}0000/ffff0000 at 20`), "downstream: a filter on the source port");
      assert.match(seen.innerFilter, new RegExp(`match 0000${hex}/0000ffff at 20`), "upstream: a filter on the destination port");
      const r = await run.done;
      assert.equal(r.code, 0, describeResult(r));
      // The netem arguments tc was given: the ramp 10% -> 40% with the correlation, and the upstream 5%.
      const calls = tc.netemCalls().filter((c) => !/dev lo /.test(c)); // (the kernel probe's own try on lo)
      assert.ok(calls.some((c) => new RegExp(`qdisc add dev ${ns.hostIface} parent a1a0:30 handle 30: netem loss 10% 25%`).test(c)), calls.join("\n"));
      assert.ok(calls.some((c) => new RegExp(`qdisc change dev ${ns.hostIface} parent a1a0:30 handle 30: netem loss 40% 25%`).test(c)), calls.join("\n"));
      assert.ok(calls.some((c) => /-n \S+ qdisc add dev eth0 parent a1a0:30 handle 30: netem loss 5%$/.test(c)), calls.join("\n"));
      // After: the kernel defaults are back on both interfaces, no filter left.
      assert.match(tcShow(undefined, "qdisc", ns.hostIface), /qdisc noqueue 0: root/);
      assert.match(tcShow(ns.netns, "qdisc", "eth0"), /qdisc noqueue 0: root/);
      assert.equal(tcShow(undefined, "filter", ns.hostIface).trim() + tcShow(ns.netns, "filter", "eth0").trim(), "");
      const out = JSON.parse(r.stdout.slice(r.stdout.indexOf("{")));
      const report = JSON.parse(fs.readFileSync(out.report.json, "utf8"));
      assert.deepEqual(report.windows.map((w: any) => [w.id, w.status, /tc netem loss/.test(w.mechanism)]), [
        ["down-loss#1", "undone", true],
        ["up-loss#1", "undone", true],
      ]);
    });
  });

  describe("Toxiproxy's packet_loss toxic (an admin front that has it, over the real server)", () => {
    let sb: FakeSandbox;
    let front: ToxiproxyFront;
    before(async () => {
      sb = await startFakeSandbox();
      front = await toxiproxyWithPacketLoss(sb.gate.server.url);
      saveHandle({ ...sb.handle, gate: { ...sb.handle.gate, adminUrl: front.url } });
    });
    after(async () => {
      await front?.close();
      await sb?.cleanup();
    });

    it("validate: auto picks the toxiproxy mechanism where the server has packet_loss (netem absent here)", async () => {
      const file = writeExperiment("pl-pick", "name: pl-pick\nactions:\n  - { fault: packet-loss, upstream: api, duration: 2s, params: { loss: 30% } }\n");
      const r = await cli(["chaos", "validate", file, "--sandbox", sb.handle.id, "--json"]);
      assert.equal(r.code, 0, describeResult(r));
      const m = JSON.parse(r.stdout).windows[0].mechanism;
      assert.equal(m.mechanism, "toxiproxy", JSON.stringify(m));
      // The capability probe used a throwaway proxy and left nothing on the real server.
      assert.deepEqual(Object.keys(await (await fetch(`${sb.gate.server.url}/proxies`)).json()), [sb.gate.proxies.api.proxy]);
    });

    it("run: the toxic is added with the loss rate, ramped, and removed; SIGKILL + airlock recover removes it too — read from the server", async () => {
      const proxy = sb.gate.proxies.api.proxy;
      const exp = (name: string, duration: string) =>
        writeExperiment(name, `name: ${name}\nbaseline: 200ms\nrecovery: 200ms\nmeasure: { interval: 200ms }\nactions:\n  - { name: lossy, fault: packet-loss, upstream: api, duration: ${duration}, params: { mechanism: toxiproxy, correlation: 10% }, ramp: { steps: 2, from: { loss: 20% }, to: { loss: 60% } } }\n`);
      const run = startCli(["chaos", "run", exp("pl-run", "6s"), "--sandbox", sb.handle.id, "--json"], { env: { AIRLOCK_QUIET: "1" } });
      const during = await waitFor("the packet_loss toxic", async () => (await proxyView(front.url, proxy)).toxics.find((t) => t.type === "packet_loss"), 60_000);
      assert.deepEqual([during.stream, during.attributes.loss_rate, during.attributes.correlation], ["downstream", 0.2, 0.1]);
      const r = await run.done;
      assert.equal(r.code, 0, describeResult(r));
      assert.ok(front.log.some((l) => /^UPDATE .*"loss_rate":0\.6/.test(l)), `the ramp step did not reach the server: ${front.log.join("\n")}`);
      assert.deepEqual(front.packetLoss(proxy), [], "the toxic is still there after the run");
      assert.deepEqual((await proxyView(sb.gate.server.url, proxy)).toxics, [], "a toxic is left on the real server");

      // A crash: runner and watchdog SIGKILLed with the toxic on; `airlock recover` (a fresh process) removes it.
      const crash = startCli(["chaos", "run", exp("pl-crash", "30s"), "--sandbox", sb.handle.id], { env: { AIRLOCK_QUIET: "1" } });
      await waitFor("the packet_loss toxic", async () => front.packetLoss(proxy).length === 1, 60_000);
      const wd = await waitFor("the watchdog", () => watchdogOf(sb.handle.id), 5000);
      process.kill(wd.pid, "SIGKILL");
      crash.child.kill("SIGKILL");
      await crash.done;
      await waitFor("runner and watchdog gone", () => !isAlive(wd), 5000);
      assert.equal(front.packetLoss(proxy).length, 1, "nothing undid the toxic: runner and watchdog are gone");
      const rec = await cli(["recover", "--json"]);
      assert.equal(rec.code, 0, describeResult(rec));
      assert.deepEqual(front.packetLoss(proxy), [], "airlock recover left the toxic on");
      assert.ok(front.log[front.log.length - 1].startsWith("DELETE"), front.log.join("\n"));
    });
  });

  describe("cgroup v2 (a v2-shaped tree as the workload's cgroup)", () => {
    let sb: FakeSandbox;
    let tree: V2Tree;
    before(async () => {
      sb = await startFakeSandbox();
      tree = v2Tree([sb.workload.child.pid!]); // a live process, so the workload counts as running
      saveHandle({ ...sb.handle, cgroup: { mode: "v2", root: tree.root, rel: tree.rel } });
    });
    after(async () => {
      await sb?.cleanup();
      tree?.remove();
    });

    const exp = (name: string, duration: string) =>
      writeExperiment(
        name,
        `name: ${name}\nbaseline: 200ms\nrecovery: 200ms\nmeasure: { interval: 200ms }\nactions:\n  - { name: pressure, fault: memory-high, duration: ${duration}, params: { limit: 64MiB } }\n  - { name: squeeze, fault: cpu, duration: ${duration}, params: { period: 50ms }, ramp: { steps: 2, from: { quota: 50% }, to: { quota: 20% } } }\n  - { name: few, fault: pids, duration: ${duration}, params: { max: 32 } }\n`,
      );

    it("validate: memory-high is accepted on v2 (refused on this v1 host's real cgroups: chaos-cgroup.test.ts)", async () => {
      const r = await cli(["chaos", "validate", exp("v2-validate", "2s"), "--sandbox", sb.handle.id]);
      assert.equal(r.code, 0, describeResult(r));
    });

    it("run: cpu.max, memory.high and pids.max are written and the old values restored; SIGKILL + airlock recover restores them too", async () => {
      const run = startCli(["chaos", "run", exp("v2-run", "6s"), "--sandbox", sb.handle.id, "--json"], { env: { AIRLOCK_QUIET: "1" } });
      const seen = await waitFor("the limits in the v2 files", () => (tree.file("memory.high") !== "max" && tree.file("pids.max") !== "max" ? { high: tree.file("memory.high"), cpu: tree.file("cpu.max"), pids: tree.file("pids.max") } : undefined), 60_000);
      assert.deepEqual(seen, { high: String(64 * 2 ** 20), cpu: "25000 50000", pids: "32" });
      await waitFor("the ramp's second step", () => tree.file("cpu.max") === "10000 50000", 10_000);
      const r = await run.done;
      assert.equal(r.code, 0, describeResult(r));
      for (const f of ["cpu.max", "memory.high", "pids.max"]) assert.equal(tree.file(f), V2_FILES[f], `${f} after the run`);

      const crash = startCli(["chaos", "run", exp("v2-crash", "30s"), "--sandbox", sb.handle.id], { env: { AIRLOCK_QUIET: "1" } });
      await waitFor("the limits", () => tree.file("pids.max") === "32" && tree.file("memory.high") !== "max", 60_000);
      const wd = await waitFor("the watchdog", () => watchdogOf(sb.handle.id), 5000);
      process.kill(wd.pid, "SIGKILL");
      crash.child.kill("SIGKILL");
      await crash.done;
      await waitFor("runner and watchdog gone", () => !isAlive(wd), 5000);
      assert.equal(tree.file("pids.max"), "32", "nothing undid the limits: runner and watchdog are gone");
      const rec = await cli(["recover", "--json"]);
      assert.equal(rec.code, 0, describeResult(rec));
      for (const f of ["cpu.max", "memory.high", "pids.max"]) assert.equal(tree.file(f), V2_FILES[f], `${f} after airlock recover`);
      assert.ok(listJournals().filter((j) => j.owner === `chaos-${sb.handle.id}`).every((j) => j.closed));
    });
  });
});

/** The watchdog of the running chaos run of `id`, from its log ("(pid N): guarding"). */
function watchdogOf(id: string) {
  const log = `${process.env.AIRLOCK_STATE_DIR}/journals/chaos-${id}.watchdog.log`;
  // The log is appended to by every run of this sandbox: the last "guarding" line is the current run's.
  const pid = Number([...(fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "").matchAll(/\(pid (\d+)\): guarding/g)].pop()?.[1]) || undefined;
  const ref = pid ? refOf(pid) : undefined;
  return ref && isAlive(ref) ? ref : undefined;
}
