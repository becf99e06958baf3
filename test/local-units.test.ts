// The local backend's small pieces, checked on their own: host object names (IFNAMSIZ), the id each
// name maps back to, nftables rulesets (checked by the real `nft -c`), the seccomp program's shape,
// leases under contention, and the sweeper's refusal to remove paths outside its layout.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { hostNames, sandboxIdOfName, sandboxIdOfProcessName, isAirlockIfaceName, proxyName } from "../components/local/names";
import { hostRuleset, sandboxRuleset, servicesRuleset } from "../components/local/nft";
import { workloadSeccompFilter, seccompSupported, socketNotifyFilter } from "../components/local/seccomp";
import { UndoJournal } from "../components/host/journal";
import { leaseFirst, listLeases } from "../components/local/leases";
import { removePath } from "../components/local/hostfs";
import { run } from "../components/host/exec";
import { stateDir } from "../components/host/state";
import { skipBecause } from "./helpers/local-sandbox";
import { RUN_TAG } from "./helpers/run-scope";

describe("local backend units: names, rulesets, seccomp, leases", () => {
  it("every host object name starts with 'airlock'; interface names fit IFNAMSIZ and are unique", () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `agent-eval-number-${i}-${(i * 7919).toString(16).padStart(6, "0").slice(-6)}`);
    const ifaces = new Set<string>();
    for (const id of ids) {
      const n = hostNames(id);
      for (const v of Object.values(n)) assert.ok(v.startsWith("airlock"), v);
      for (const i of [n.hostIface, n.svcHostIface]) {
        assert.ok(i.length <= 15, `${i} is ${i.length} chars`);
        assert.ok(isAirlockIfaceName(i));
        assert.ok(!ifaces.has(i), `interface name collision: ${i}`);
        ifaces.add(i);
      }
      // Names that carry the id map back to it.
      for (const v of [n.netns, n.svcNetns, n.nftTable, n.cgroup, n.svcCgroup]) assert.strictEqual(sandboxIdOfName(v), id);
      for (const v of [n.gateProcess, n.anchorProcess]) assert.strictEqual(sandboxIdOfProcessName(v), id);
      assert.ok(n.linkAlias.endsWith(id));
    }
    assert.strictEqual(sandboxIdOfProcessName("airlock-supervisor"), undefined, "the supervisor is not a sandbox");
    assert.throws(() => hostNames("../etc"), /not a valid sandbox id/);
    assert.strictEqual(proxyName("q-abc123", "model-api"), "airlock-q-abc123-model-api");
  });

  it("the nftables rulesets are accepted by nft (checked in a scratch namespace)", async function () {
    const ns = `airlock-tf-nft-${RUN_TAG}`;
    const add = await run("ip", ["netns", "add", ns], { allowFail: true });
    if (add.code !== 0) skipBecause(this, `cannot create a network namespace: ${add.stderr.trim()}`);
    try {
      const rulesets = [
        sandboxRuleset({ table: "airlock-x", hostAddress: "10.77.0.1", gate: [] }),
        sandboxRuleset({ table: "airlock-x", hostAddress: "10.77.0.1", gate: [{ upstream: "a", port: 8080 }, { upstream: "b", port: 443 }], canaryPort: 40000 }),
        hostRuleset({ table: "airlock-x", hostIface: "airlock0123456s", hostAddress: "10.77.0.1", ports: [] }),
        hostRuleset({ table: "airlock-x", hostIface: "airlock0123456s", hostAddress: "10.77.0.1", ports: [8080, 40000], svcIface: "airlock0123456t" }),
        servicesRuleset({ table: "airlock-x-svc", gateAddress: "10.77.0.5", ports: [8080, 9000] }),
      ];
      for (const text of rulesets) {
        const r = await run("nsenter", [`--net=/run/netns/${ns}`, "nft", "-c", "-f", "-"], { input: text, allowFail: true });
        assert.strictEqual(r.code, 0, `nft refused:\n${text}\n${r.stderr}`);
      }
      // The sandbox's output chain drops by policy and rejects before that, for every protocol.
      const sb = rulesets[1];
      assert.ok(/policy drop;/.test(sb) && /reject with tcp reset/.test(sb) && /denied_udp" reject/.test(sb));
      assert.ok(!/ip6 daddr|meta nfproto ipv6 .* accept/.test(sb), "an IPv6 allow rule slipped in");
    } finally {
      await run("ip", ["netns", "del", ns], { allowFail: true });
    }
  });

  for (const [name, build] of [["bubblewrap filter", () => workloadSeccompFilter()], ["bubblewrap filter (notify variant)", () => workloadSeccompFilter(undefined, "notify")], ["launcher's socket-family filter", () => socketNotifyFilter()]] as const) it(`the ${name}: the program checks the architecture first and ends every path in a verdict`, function () {
    if (!seccompSupported()) skipBecause(this, `no seccomp filter for ${process.arch}`);
    const prog = build();
    assert.strictEqual(prog.length % 8, 0);
    const insns = Array.from({ length: prog.length / 8 }, (_, i) => ({ code: prog.readUInt16LE(i * 8), jt: prog[i * 8 + 2], jf: prog[i * 8 + 3], k: prog.readUInt32LE(i * 8 + 4) }));
    assert.ok(insns.length < 64, "BPF jumps are 8-bit: keep the program short");
    assert.deepStrictEqual([insns[0].code, insns[0].k], [0x20, 4], "first load is seccomp_data.arch");
    assert.strictEqual(insns[insns.length - 1].code, 0x06, "the program must end in a return");
    // Every jump lands inside the program.
    insns.forEach((ins, i) => {
      if ((ins.code & 0x07) === 0x05) assert.ok(i + 1 + Math.max(ins.jt, ins.jf) < insns.length, `jump out of range at ${i}`);
    });
  });

  it("concurrent leases of the same candidates never hand out the same key", async () => {
    const journals = [0, 1, 2, 3].map((i) => UndoJournal.open(`lease-test-${process.pid}-${i}`, { purpose: "test" }));
    try {
      const keys = await Promise.all(journals.map((j, i) => leaseFirst(j, "test", `owner-${i}`, ["a", "b", "c", "d", "e"])));
      assert.strictEqual(new Set(keys).size, 4, `duplicates: ${keys}`);
      assert.deepStrictEqual(listLeases("test").map((l) => l.key).sort(), [...keys].sort());
    } finally {
      for (const j of journals) {
        await j.undoAll();
        j.close();
      }
    }
    assert.deepStrictEqual(listLeases("test"), [], "undo did not release the leases");
  });

  it("recovery never removes a path outside an Airlock sandboxes/ or leases/ directory", async () => {
    const outside = fs.mkdtempSync(path.join(stateDir(), "keep-"));
    await assert.rejects(removePath(outside), /refusing to remove/);
    await assert.rejects(removePath("/"), /refusing to remove/);
    await assert.rejects(removePath(path.join(stateDir(), "sandboxes", "..", "..")), /refusing to remove/);
    assert.ok(fs.existsSync(outside));
    fs.rmSync(outside, { recursive: true });
  });
});
