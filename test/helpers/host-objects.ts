// Finds host objects that Airlock (or its tests) created: every such object's name contains
// "airlock", and the gate is a toxiproxy-server process. Used by the suite-wide leftover check and by
// tests that assert a sweep/destroy removed everything.
//
// Deliberately independent of the code under test: components/local/hostscan.ts (scanHostObjects)
// does the same job for `airlock sweep`, but a bug there (a kind it misses, a name filter that is too
// narrow, a tool failure it turns into "nothing found") would then hide itself. This copy asks the
// tools and the kernel directly, with a looser filter (any name containing "airlock"), and throws
// when a tool fails instead of reporting an empty list: a leftover check that cannot look must not pass.
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";

/**
 * The output lines of a host tool. A tool that cannot run, is killed or exits with a status not in
 * `okStatus` throws (pgrep exits 1 when nothing matches: pass okStatus [0, 1] for it).
 */
export function toolLines(cmd: string, args: string[], okStatus: number[] = [0]): string[] {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 20_000 });
  const what = `${cmd} ${args.join(" ")}`;
  if (r.error) throw new Error(`host-objects: '${what}' could not run: ${r.error.message}`);
  if (r.status === null || !okStatus.includes(r.status)) {
    throw new Error(`host-objects: '${what}' failed (${r.status === null ? `signal ${r.signal}` : `exit ${r.status}`}): ${r.stderr.trim()}`);
  }
  return r.stdout.split("\n").filter(Boolean);
}

const CGROUP_ROOT = "/sys/fs/cgroup";

/**
 * Cgroup directories whose name contains "airlock", in every hierarchy mounted under /sys/fs/cgroup
 * (the v2 root itself, or each v1 controller). A directory that vanishes while walking is skipped; any
 * other read error throws.
 */
export function airlockCgroupDirs(root = CGROUP_ROOT, maxDepth = 6): string[] {
  if (!fs.existsSync(root)) return [];
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (e: any) {
      if (e.code === "ENOENT" && dir !== root) return; // removed meanwhile
      throw new Error(`host-objects: cannot list ${dir}: ${e.code ?? e.message}`);
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      if (/airlock/i.test(e.name)) found.push(p);
      else if (depth < maxDepth) walk(p, depth + 1);
    }
  };
  walk(root, 0);
  return found;
}

export interface HostObjects {
  netns: string[];
  links: string[];
  nftTables: string[];
  cgroups: string[];
  processes: string[];
}

/** " (parent <ppid> <its command>)", so that a leftover report says whose process it is (another test run?). */
function parentOf(pid: string): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const ppid = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1];
    const cmd = fs.readFileSync(`/proc/${ppid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ").slice(0, 160);
    return ` (parent ${ppid} ${cmd})`;
  } catch {
    return ""; // exited meanwhile
  }
}

export function airlockHostObjects(): HostObjects {
  const ownPid = String(process.pid);
  return {
    netns: toolLines("ip", ["netns", "list"]).filter((l) => /airlock/i.test(l)),
    links: toolLines("ip", ["-o", "link", "show"]).filter((l) => /airlock/i.test(l)).map((l) => l.split(":")[1]?.trim() ?? l),
    nftTables: toolLines("nft", ["list", "tables"]).filter((l) => /airlock/i.test(l)),
    cgroups: airlockCgroupDirs(),
    processes: toolLines("pgrep", ["-fa", "toxiproxy-server|airlock-"], [0, 1])
      // (Not the shared machine's host lock — `flock /run/airlock-hosttests.lock ...` — whose path matches too.)
      .filter((l) => !l.startsWith(ownPid + " ") && !/^\d+ (\S*\/)?pgrep /.test(l) && !/^\d+ (\S*\/)?flock \/run\/airlock-hosttests\.lock /.test(l))
      .map((l) => l + parentOf(l.split(" ")[0])),
  };
}

export function countHostObjects(o: HostObjects): number {
  return o.netns.length + o.links.length + o.nftTables.length + o.cgroups.length + o.processes.length;
}
