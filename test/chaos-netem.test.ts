// tc netem for packet loss: detection of sch_netem (without leaving anything behind), and the scoped
// qdisc plumbing (HTB root a1a0:, leaf on class a1a0:30, u32 filter on the gate listener's port, journaled undo)
// in a real network namespace. This host's kernel has no sch_netem, so the plumbing is exercised with
// a pfifo leaf in netem's place (and the whole netem path, CLI to undo, in chaos-standins.test.ts);
// the loss itself is measured in chaos-network.test.ts where netem exists.
import * as assert from "assert";
import { spawnSync } from "child_process";
import { kernelHasNetem, installScopedQdisc, netemAvailableAt, netemLeaf, removeRootQdisc, rootQdiscIsDefault } from "../chaos/faults/netem";
import { faultContext, TestFaultContext } from "./helpers/chaos-faults";
import { createTestNetns, TestNetns } from "./helpers/chaos-netem";
import { fakeToolsPerTest } from "./helpers/common";

const tcRun = (ns: string, args: string[]) => spawnSync("tc", ["-n", ns, ...args], { encoding: "utf8" });
const tc = (ns: string, args: string[]) => tcRun(ns, args).stdout;

describe("chaos packet loss: tc netem", function () {
  this.timeout(30_000);
  let ns: TestNetns;
  let ctx: TestFaultContext;

  beforeEach(() => {
    ns = createTestNetns();
    ctx = faultContext({ id: "netem", network: { netns: ns.netns, sandboxIface: "eth0", hostIface: ns.hostIface }, reportDir: "/nonexistent", isWorkloadAlive: () => true });
  });
  afterEach(async () => {
    await ctx.close();
    ns.remove();
  });

  it("detects whether the kernel has sch_netem, in a throwaway namespace that leaves nothing on the host", async () => {
    const has = await kernelHasNetem();
    process.stdout.write(`      sch_netem on this host: ${has === true ? "yes" : has}\n`);
    // An independent attempt: netem as the root qdisc of the test namespace's veth end.
    const direct = tcRun(ns.netns, ["qdisc", "add", "dev", "eth0", "root", "netem", "loss", "1%"]);
    if (direct.status === 0) tcRun(ns.netns, ["qdisc", "del", "dev", "eth0", "root"]);
    assert.equal(has === true, direct.status === 0, `the probe says ${has}; tc netem in ${ns.netns} said: exit ${direct.status} ${direct.stderr.trim()}`);
    if (has !== true && /unknown/i.test(direct.stderr)) assert.match(has, /the kernel has no sch_netem/, "the reason names the missing kernel module");
    assert.doesNotMatch(spawnSync("tc", ["qdisc", "show", "dev", "lo"], { encoding: "utf8" }).stdout, /netem/);
    const at = await netemAvailableAt({ netns: ns.netns, iface: "eth0" });
    assert.equal(at === true, has === true, "availability at an interface follows the kernel's");
  });

  it("builds loss rules as netem expects them (percentages, optional correlation)", () => {
    assert.deepEqual(netemLeaf(0.1, 0), ["netem", "loss", "10%"]);
    assert.deepEqual(netemLeaf(0.005, 0.25), ["netem", "loss", "0.5%", "25%"]);
  });

  it("installs htb + leaf + a port filter inside the sandbox namespace, updates the leaf, and the journaled undo restores the default", async () => {
    assert.match(tc(ns.netns, ["qdisc", "show", "dev", "eth0"]), /qdisc noqueue 0: root/);
    const q = await installScopedQdisc(ctx, { netns: ns.netns, iface: "eth0", port: 8080, match: "dport" }, ["pfifo", "limit", "100"]);
    const qdiscs = tc(ns.netns, ["qdisc", "show", "dev", "eth0"]);
    assert.match(qdiscs, /qdisc htb a1a0: root .*default 0x10/);
    assert.match(qdiscs, /qdisc pfifo 30: parent a1a0:30 limit 100p/);
    const filters = tc(ns.netns, ["filter", "show", "dev", "eth0"]);
    // dport 8080 = 0x1f90: the low 16 bits of the word at offset 20 (the transport header's ports).
    assert.match(filters, /flowid a1a0:30/);
    assert.match(filters, /match 00001f90\/0000ffff at 20/);
    // Traffic to the gate port goes through the leaf's class, other traffic through the default one.
    const sentBy = () => {
      const out = tc(ns.netns, ["-s", "class", "show", "dev", "eth0"]);
      const sent = (cls: string) => Number(new RegExp(`class htb ${cls} [\\s\\S]*?Sent (\\d+) bytes`).exec(out)![1]);
      return { gate: sent("a1a0:30"), other: sent("a1a0:10") };
    };
    const poke = (port: number) =>
      spawnSync("ip", ["netns", "exec", ns.netns, process.execPath, "-e", `const s=require("net").connect(${port},"${ns.hostAddress}");s.on("error",()=>{});setTimeout(()=>process.exit(0),200)`]);
    const s0 = sentBy();
    poke(8080);
    const s1 = sentBy();
    poke(9090);
    const s2 = sentBy();
    assert.ok(s1.gate > s0.gate, `a SYN to port 8080 went through the leaf's class: ${JSON.stringify([s0, s1])}`);
    assert.ok(s2.other > s1.other && s2.gate === s1.gate, `a SYN to port 9090 did not (ARP also uses the default class): ${JSON.stringify([s1, s2])}`);
    await q.update(["pfifo", "limit", "50"]);
    assert.match(tc(ns.netns, ["qdisc", "show", "dev", "eth0"]), /qdisc pfifo 30: parent a1a0:30 limit 50p/);
    assert.equal(ctx.journal.pending().length, 1);
    assert.equal(ctx.journal.pending()[0].kind, "tc-qdisc-root");
    await q.remove();
    assert.match(tc(ns.netns, ["qdisc", "show", "dev", "eth0"]), /qdisc noqueue 0: root/);
    assert.equal(tc(ns.netns, ["filter", "show", "dev", "eth0"]).trim(), "");
  });

  // Someone else's shaping: an HTB root qdisc with a handle of its own (HTB is what this host's kernel
  // has; tbf and prio are not built here). The refusal check itself needs no netem.
  const installForeignRoot = () => {
    const r = tcRun(ns.netns, ["qdisc", "add", "dev", "eth0", "root", "handle", "7:", "htb", "default", "1"]);
    assert.equal(r.status, 0, `installing the foreign root qdisc: ${r.stderr}`);
    assert.match(tc(ns.netns, ["qdisc", "show", "dev", "eth0"]), /qdisc htb 7: root/);
  };

  it("refuses to take over an interface whose root qdisc is someone else's (the root-qdisc check), and leaves it alone", async () => {
    assert.equal(await rootQdiscIsDefault(ns.netns, "eth0"), true, "the kernel's default root (noqueue) is ours to replace");
    installForeignRoot();
    assert.match(String(await rootQdiscIsDefault(ns.netns, "eth0")), /interface eth0 has a 'htb' root qdisc; netem would replace it and it could not be restored/);
    assert.match(tc(ns.netns, ["qdisc", "show", "dev", "eth0"]), /qdisc htb 7: root/, "the check changed nothing");
    // A default-kind root (pfifo) is not someone's shaping: deleting it restores the kernel default.
    assert.equal(tcRun(ns.netns, ["qdisc", "replace", "dev", "eth0", "root", "pfifo"]).status, 0);
    assert.equal(await rootQdiscIsDefault(ns.netns, "eth0"), true);
  });

  it("applying over someone else's root qdisc fails without touching it, and the undo never deletes a root that is not Airlock's", async () => {
    installForeignRoot();
    await assert.rejects(
      installScopedQdisc(ctx, { netns: ns.netns, iface: "eth0", port: 8080, match: "dport" }, ["pfifo", "limit", "100"]),
      /interface eth0 has a 'htb' root qdisc/,
    );
    assert.match(tc(ns.netns, ["qdisc", "show", "dev", "eth0"]), /qdisc htb 7: root/, "the foreign root survived the failed apply");
    assert.equal(ctx.journal.pending().length, 0, "nothing journaled as applied");
    // A recovery replaying an old tc-qdisc-root step (e.g. after a crash) leaves the foreign root too.
    await removeRootQdisc({ netns: ns.netns, iface: "eth0" });
    assert.match(tc(ns.netns, ["qdisc", "show", "dev", "eth0"]), /qdisc htb 7: root/, "the undo left the foreign root alone");
    assert.equal(tcRun(ns.netns, ["qdisc", "del", "dev", "eth0", "root"]).status, 0);
  });

  // The capability probe's refusal of someone else's root qdisc is checked in chaos-standins.test.ts
  // (the probe checks the kernel first, so it needs sch_netem — there, a stand-in tc provides it).

  it("the undo removes Airlock's root qdisc (read back from tc) and is idempotent: a missing qdisc, interface or namespace counts as undone", async () => {
    await installScopedQdisc(ctx, { netns: ns.netns, iface: "eth0", port: 8080, match: "dport" }, ["pfifo", "limit", "100"]);
    assert.match(tc(ns.netns, ["qdisc", "show", "dev", "eth0"]), /qdisc htb a1a0: root/, "set-up: Airlock's root qdisc is installed");
    await removeRootQdisc({ netns: ns.netns, iface: "eth0" });
    assert.match(tc(ns.netns, ["qdisc", "show", "dev", "eth0"]), /qdisc noqueue 0: root/, "the kernel default is not back");
    assert.equal(tc(ns.netns, ["filter", "show", "dev", "eth0"]).trim(), "", "a filter is left");
    await removeRootQdisc({ netns: ns.netns, iface: "eth0" }); // nothing installed any more
    await removeRootQdisc({ netns: ns.netns, iface: "nosuchif0" });
    await removeRootQdisc({ netns: "airlock-ctns-gone", iface: "eth0" });
  });

  describe("a real failure of tc still throws (a stand-in tc on PATH that fails the way the kernel can)", () => {
    const fake = fakeToolsPerTest();
    const fakeTc = (script: string) => fake("tc", script);

    it("showing the qdiscs fails for another reason than a missing device", async () => {
      fakeTc('echo "RTNETLINK answers: Operation not permitted" >&2; exit 2');
      await assert.rejects(removeRootQdisc({ netns: ns.netns, iface: "eth0" }), /tc qdisc show dev eth0: RTNETLINK answers: Operation not permitted/);
    });

    it("deleting Airlock's root qdisc fails", async () => {
      // show reports Airlock's root (handle a1a0:), del is refused.
      fakeTc(`case "$*" in *show*) echo '[{"kind":"htb","handle":"a1a0:","root":true}]';; *) echo "RTNETLINK answers: Device or resource busy" >&2; exit 2;; esac`);
      await assert.rejects(removeRootQdisc({ netns: ns.netns, iface: "eth0" }), /tc qdisc del dev eth0 root: RTNETLINK answers: Device or resource busy/);
    });

    it("positive control: with the real tc the same calls succeed", async () => {
      await removeRootQdisc({ netns: ns.netns, iface: "eth0" });
    });
  });
});
