// tc netem for packet loss: detection of sch_netem (without leaving anything behind), and the scoped
// qdisc plumbing (HTB root, leaf on class 1:30, u32 filter on the gate listener's port, journaled undo)
// in a real network namespace. This host's kernel has no sch_netem, so the plumbing is exercised with
// a pfifo leaf in netem's place; the loss itself is measured in chaos-network.test.ts where netem exists.
import * as assert from "assert";
import { spawnSync } from "child_process";
import { kernelHasNetem, installScopedQdisc, netemAvailableAt, netemLeaf, removeRootQdisc } from "../chaos/faults/netem";
import { faultContext, TestFaultContext } from "./helpers/chaos-faults";
import { createTestNetns, TestNetns } from "./helpers/chaos-netem";

const tc = (ns: string, args: string[]) => spawnSync("tc", ["-n", ns, ...args], { encoding: "utf8" }).stdout;

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
    assert.ok(has === true || /sch_netem|tc/.test(has));
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
    assert.match(qdiscs, /qdisc htb 1: root .*default 0x10/);
    assert.match(qdiscs, /qdisc pfifo 30: parent 1:30 limit 100p/);
    const filters = tc(ns.netns, ["filter", "show", "dev", "eth0"]);
    // dport 8080 = 0x1f90: the low 16 bits of the word at offset 20 (the transport header's ports).
    assert.match(filters, /flowid 1:30/);
    assert.match(filters, /match 00001f90\/0000ffff at 20/);
    // Traffic to the gate port goes through the leaf's class, other traffic through the default one.
    const sentBy = () => {
      const out = tc(ns.netns, ["-s", "class", "show", "dev", "eth0"]);
      const sent = (cls: string) => Number(new RegExp(`class htb ${cls} [\\s\\S]*?Sent (\\d+) bytes`).exec(out)![1]);
      return { gate: sent("1:30"), other: sent("1:10") };
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
    assert.match(tc(ns.netns, ["qdisc", "show", "dev", "eth0"]), /qdisc pfifo 30: parent 1:30 limit 50p/);
    assert.equal(ctx.journal.pending().length, 1);
    assert.equal(ctx.journal.pending()[0].kind, "tc-qdisc-root");
    await q.remove();
    assert.match(tc(ns.netns, ["qdisc", "show", "dev", "eth0"]), /qdisc noqueue 0: root/);
    assert.equal(tc(ns.netns, ["filter", "show", "dev", "eth0"]).trim(), "");
  });

  it("refuses to take over an interface whose root qdisc is someone else's", async () => {
    spawnSync("tc", ["-n", ns.netns, "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", "1mbit", "burst", "32kbit", "latency", "400ms"]);
    const at = await netemAvailableAt({ netns: ns.netns, iface: "eth0" });
    const has = await kernelHasNetem();
    if (has === true) assert.match(String(at), /'tbf' root qdisc/);
    else assert.equal(at, has, "without sch_netem the kernel is the reason given");
  });

  it("the undo is idempotent: a missing qdisc, interface or namespace counts as undone", async () => {
    await removeRootQdisc({ netns: ns.netns, iface: "eth0" }); // nothing installed
    await removeRootQdisc({ netns: ns.netns, iface: "nosuchif0" });
    await removeRootQdisc({ netns: "airlock-ctns-gone", iface: "eth0" });
  });
});
