// The guest firewall's system part (components/guest/nft.ts over components/cloud/guard.ts), for real
// on this kernel: a ruleset generated the way a cloud generates it (AWS's platform paths, with a
// stand-in range for the S3 gateway endpoint's cidrBlocks) is loaded into a fresh network namespace
// whose only neighbour is a second, test-created namespace holding the stand-in hosts — a "listed"
// store address inside that range, an "unlisted" address outside it, and the metadata server
// (169.254.169.254). No packet leaves the two namespaces. Each refusal has its positive control: the
// same uid reaches the listed store, and root reaches the metadata stand-in the other uid may not.
import * as assert from "assert";
import { spawn, spawnSync, ChildProcess } from "child_process";
import { guestRuleset } from "../components/guest/nft";
import { GUEST_NFT_TABLE } from "../components/guest/config";
import { METADATA_ADDRESS, vmSystemAllow } from "../components/cloud/guard";
import { awsPlatformPaths } from "../components/aws/platform";
import { skipBecause } from "./helpers/common";
import { RUN_TAG } from "./helpers/run-scope";

const GUEST_NS = `airlock-tf-gfwguest-${RUN_TAG}`;
const CLOUD_NS = `airlock-tf-gfwcloud-${RUN_TAG}`;
const GUEST_IF = `airlocktf${RUN_TAG}fg`;
const CLOUD_IF = `airlocktf${RUN_TAG}fc`;
const VPC_CIDR = "10.252.0.0/16";
const GUEST_ADDR = "10.252.0.20";
const ROUTER_ADDR = "10.252.0.1";
/** The stand-in for the S3 gateway endpoint's ranges (benchmarking space: nobody's real service). */
const STORE_RANGE = "198.18.1.0/24";
const LISTED = { address: "198.18.1.10", port: 443 };
const UNLISTED = { address: "198.18.2.10", port: 443 };
const METADATA = { address: METADATA_ADDRESS, port: 80 };
const WORKLOAD_UID = 61_337;
/** A system uid that is not root (as systemd-resolved or chrony run). */
const SYSTEM_UID = 61_338;
const PY = "/usr/bin/python3";

const sh = (args: string[]) => spawnSync(args[0], args.slice(1), { encoding: "utf8" });
const must = (args: string[], input?: string) => {
  const r = spawnSync(args[0], args.slice(1), { encoding: "utf8", input });
  if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

/** A listener in the cloud namespace that accepts, greets and closes. */
function listener(address: string, port: number): ChildProcess {
  const code = `import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("${address}", ${port})); s.listen(64)\nprint("up", flush=True)\nwhile True:\n  c,_=s.accept(); c.sendall(b"hi"); c.close()`;
  return spawn("ip", ["netns", "exec", CLOUD_NS, PY, "-c", code], { stdio: ["ignore", "pipe", "inherit"] });
}

/** One TCP connection from the guest namespace as `uid`: "ok" or the errno's name. */
const CONNECT = String.raw`
import socket, sys, errno
s = socket.socket(); s.settimeout(3)
try: s.connect((sys.argv[1], int(sys.argv[2]))); print("ok")
except OSError as e: print(errno.errorcode.get(e.errno, str(e)))
`;
function connectAs(uid: number, to: { address: string; port: number }): string {
  const asUid = uid === 0 ? [] : ["setpriv", "--reuid", String(uid), "--regid", String(uid), "--clear-groups", "--"];
  return must(["nsenter", `--net=/run/netns/${GUEST_NS}`, "--", ...asUid, PY, "-c", CONNECT, to.address, String(to.port)]).trim();
}

/** A counter of the guest table, read back from the kernel (fails when the table or counter is missing). */
function packets(counter: string): number {
  const out = JSON.parse(must(["ip", "netns", "exec", GUEST_NS, "nft", "-j", "list", "counter", "inet", GUEST_NFT_TABLE, counter]));
  const c = (out.nftables as any[]).find((i) => i.counter)?.counter;
  assert.ok(c, `counter ${counter} in ${JSON.stringify(out)}`);
  return c.packets;
}

describe("guest firewall, system uids (components/guest/nft.ts): only the cloud's endpoints, in a real kernel", function () {
  this.timeout(60_000);
  let listeners: ChildProcess[] = [];
  let ruleset: string;

  before(async function () {
    if (process.getuid?.() !== 0) skipBecause(this, "needs root (network namespaces, nftables)");
    for (const tool of ["ip", "nft", "setpriv", "nsenter", PY]) if (sh(["sh", "-c", `command -v ${tool}`]).status !== 0) skipBecause(this, `host tool ${tool} is missing`);
    ruleset = guestRuleset({ table: GUEST_NFT_TABLE, gate: [], system: vmSystemAllow(awsPlatformPaths(VPC_CIDR, [STORE_RANGE])) }, WORKLOAD_UID);
    must(["ip", "netns", "add", GUEST_NS]);
    must(["ip", "netns", "add", CLOUD_NS]);
    must(["ip", "link", "add", GUEST_IF, "netns", GUEST_NS, "type", "veth", "peer", "name", CLOUD_IF, "netns", CLOUD_NS]);
    for (const c of [["link", "set", "lo", "up"], ["addr", "add", `${GUEST_ADDR}/24`, "dev", GUEST_IF], ["link", "set", GUEST_IF, "up"], ["route", "add", "default", "via", ROUTER_ADDR]]) must(["ip", "-n", GUEST_NS, ...c]);
    for (const c of [["link", "set", "lo", "up"], ["addr", "add", `${ROUTER_ADDR}/24`, "dev", CLOUD_IF], ...[LISTED, UNLISTED, METADATA].map((h) => ["addr", "add", `${h.address}/32`, "dev", CLOUD_IF]), ["link", "set", CLOUD_IF, "up"]]) must(["ip", "-n", CLOUD_NS, ...c]);
    listeners = [LISTED, UNLISTED, METADATA].map((h) => listener(h.address, h.port));
    for (const l of listeners) await new Promise<void>((resolve, reject) => (l.stdout!.once("data", () => resolve()), l.once("exit", (c) => reject(new Error(`listener exited ${c}`)))));
    // Before the table: every stand-in answers every uid, so a refusal below is the table's doing.
    for (const h of [LISTED, UNLISTED, METADATA]) assert.strictEqual(connectAs(SYSTEM_UID, h), "ok", `${h.address}:${h.port} is up and reachable without the guest table`);
    must(["ip", "netns", "exec", GUEST_NS, "nft", "-f", "-"], ruleset);
  });

  after(() => {
    for (const l of listeners) l.kill("SIGKILL");
    sh(["ip", "netns", "del", GUEST_NS]);
    sh(["ip", "netns", "del", CLOUD_NS]);
  });

  it("the loaded ruleset names the store range on 443 and no 443 rule without an address", () => {
    const listed = must(["ip", "netns", "exec", GUEST_NS, "nft", "list", "chain", "inet", GUEST_NFT_TABLE, "system_out"]);
    assert.match(listed, new RegExp(`ip daddr ${STORE_RANGE.replace(/\./g, "\\.")} tcp dport 443 accept`));
    for (const line of listed.split("\n").filter((l) => /accept/.test(l))) assert.match(line, /ip daddr \d/, `every system accept names an address: ${line.trim()}`);
  });

  it("a non-workload uid reaches the listed store on HTTPS, and is refused (counted in system_denied) at an unlisted address", () => {
    const before = packets("system_denied");
    assert.strictEqual(connectAs(SYSTEM_UID, LISTED), "ok", "positive control: the listed store address");
    assert.strictEqual(packets("system_denied"), before, "the allowed connection is not counted as denied");
    const r = connectAs(SYSTEM_UID, UNLISTED);
    assert.notStrictEqual(r, "ok", "HTTPS to an address the cloud does not list is refused");
    assert.ok(packets("system_denied") >= before + 1, `system_denied ${before} -> ${packets("system_denied")} (connect: ${r})`);
  });

  it("the metadata server is root's: a non-root system uid is refused, uid 0 gets through", () => {
    const before = packets("system_denied");
    const r = connectAs(SYSTEM_UID, METADATA);
    assert.notStrictEqual(r, "ok", `uid ${SYSTEM_UID} must not reach the metadata server`);
    assert.ok(packets("system_denied") >= before + 1, `system_denied ${before} -> ${packets("system_denied")} (connect: ${r})`);
    assert.strictEqual(connectAs(0, METADATA), "ok", "positive control: root (the guard, the platform's agents) reaches it");
  });

  it("the workload uid is not given the system's paths: the listed store is refused and counted against it (denied_tcp)", () => {
    const [tcp, system] = [packets("denied_tcp"), packets("system_denied")];
    assert.notStrictEqual(connectAs(WORKLOAD_UID, LISTED), "ok");
    assert.ok(packets("denied_tcp") >= tcp + 1, "counted in the workload's denied counters");
    assert.strictEqual(packets("system_denied"), system, "not in the system's");
  });
});
