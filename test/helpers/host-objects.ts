// Finds host objects that Airlock (or its tests) created: every such object's name contains
// "airlock", and the gate is a toxiproxy-server process. Used by the suite-wide leftover check and by
// tests that assert a sweep/destroy removed everything.
import * as fs from "fs";
import { spawnSync } from "child_process";
import { detectCgroupHost, findAirlockCgroups } from "../../components/host/cgroup";

function lines(cmd: string, args: string[]): string[] {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return r.status === 0 ? r.stdout.split("\n").filter(Boolean) : [];
}

export interface HostObjects {
  netns: string[];
  links: string[];
  nftTables: string[];
  cgroups: string[];
  processes: string[];
}

export function airlockHostObjects(): HostObjects {
  const ownPid = String(process.pid);
  return {
    netns: lines("ip", ["netns", "list"]).filter((l) => /airlock/i.test(l)),
    links: lines("ip", ["-o", "link", "show"]).filter((l) => /airlock/i.test(l)).map((l) => l.split(":")[1]?.trim() ?? l),
    nftTables: lines("nft", ["list", "tables"]).filter((l) => /airlock/i.test(l)),
    cgroups: fs.existsSync("/sys/fs/cgroup") ? findAirlockCgroups(detectCgroupHost()) : [],
    processes: lines("pgrep", ["-fa", "toxiproxy-server|airlock-"]).filter((l) => !l.startsWith(ownPid + " ") && !/pgrep/.test(l)),
  };
}

export function countHostObjects(o: HostObjects): number {
  return o.netns.length + o.links.length + o.nftTables.length + o.cgroups.length + o.processes.length;
}
