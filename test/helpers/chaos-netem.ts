// A throwaway network namespace joined to the host by a veth pair, for the tc tests. Names start
// with "airlock" and carry the run tag, so the suite's leftover check would catch one that is not removed.
// Not local-network.ts's fixtureNetns: it is a private async method of TestNetwork, bound to its fixed addresses and stop().
import { spawnSync } from "child_process";
import * as net from "net";
import { UndoJournal } from "../../components/host/journal";
import { installScopedQdisc, netemLeaf } from "../../chaos/faults/netem";
import type { FaultContext } from "../../chaos/faults/types";
import { RUN_TAG } from "./run-scope";

const sh = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

export interface TestNetns {
  netns: string;
  hostIface: string;
  innerIface: string;
  hostAddress: string;
  innerAddress: string;
  remove(): void;
}

let seq = 0;

export function createTestNetns(): TestNetns {
  const n = ++seq;
  const netns = `airlock-ctns-${RUN_TAG}-${n}`;
  const hostIface = `airlockct${RUN_TAG}${n}`; // 15 characters at most up to n = 99
  const hostAddress = `10.251.${seq}.1`;
  const innerAddress = `10.251.${seq}.2`;
  sh("ip", ["netns", "add", netns]);
  try {
    sh("ip", ["link", "add", hostIface, "type", "veth", "peer", "name", "eth0", "netns", netns]);
    sh("ip", ["addr", "add", `${hostAddress}/30`, "dev", hostIface]);
    sh("ip", ["link", "set", hostIface, "up"]);
    sh("ip", ["-n", netns, "addr", "add", `${innerAddress}/30`, "dev", "eth0"]);
    sh("ip", ["-n", netns, "link", "set", "eth0", "up"]);
    sh("ip", ["-n", netns, "link", "set", "lo", "up"]);
  } catch (e) {
    spawnSync("ip", ["netns", "delete", netns]);
    spawnSync("ip", ["link", "delete", hostIface]);
    throw e;
  }
  return {
    netns,
    hostIface,
    innerIface: "eth0",
    hostAddress,
    innerAddress,
    remove() {
      spawnSync("ip", ["netns", "delete", netns]);
      spawnSync("ip", ["link", "delete", hostIface]); // gone with the namespace's peer; ignore errors
    },
  };
}

/**
 * Where sch_netem exists: `loss` on the inner interface for packets to the server's port, then 100
 * connection attempts from inside the namespace with a 400 ms connect timeout (a lost SYN is retried
 * only after 1 s). Returns the share that failed.
 */
export async function netemLossMeasured(loss: number): Promise<number> {
  const ns = createTestNetns();
  const server = net.createServer((s) => s.end());
  const journal = UndoJournal.open(`chaostest-netem-${process.pid}`, { purpose: "chaos-test" });
  try {
    await new Promise<void>((r) => server.listen(0, ns.hostAddress, r));
    const port = (server.address() as net.AddressInfo).port;
    const ctx = { journal, applied: [] } as unknown as FaultContext;
    const q = await installScopedQdisc(ctx, { netns: ns.netns, iface: ns.innerIface, port, match: "dport" }, netemLeaf(loss, 0));
    const script = `const net=require("net");let fail=0,n=100,done=0;for(let i=0;i<n;i++){const s=net.connect({host:"${ns.hostAddress}",port:${port}});const t=setTimeout(()=>{fail++;s.destroy();fin()},400);s.on("connect",()=>{clearTimeout(t);s.destroy();fin()});s.on("error",()=>{})}function fin(){if(++done===n)console.log(fail/n)}`;
    const r = spawnSync("ip", ["netns", "exec", ns.netns, process.execPath, "-e", script], { encoding: "utf8", timeout: 30_000 });
    await q.remove();
    return Number(r.stdout.trim());
  } finally {
    await journal.undoAll();
    journal.close();
    server.close();
    ns.remove();
  }
}
