// Finds every Airlock host object of the local backend — by name, never by guess — and says which
// sandbox it belongs to, so that the sweeper can remove what has no live owner:
//   netns airlock-<id>[-svc] · host veths airlock<hash>[st] (alias airlock:<id>) · nft tables
//   airlock-<id> · cgroups airlock-<id>[-svc|-gate] · tmpfs mounts at sandboxes/<id>/fs and devpts mounts at
//   sandboxes/<id>/pts · processes whose argv[0] is airlock-gate-<id> / airlock-anchor-<id> or that
//   work on a sandboxes/<id>/ path.
//
// A name is a claim anyone can make: a workload can `exec -a airlock-anchor-<another id>`. So a
// process counts as a host object only outside every sandbox's cgroup (what runs inside one is that
// cgroup's, and goes with it), and as a *live anchor* — the proof that a sandbox is owned — only if it
// is the anchor the sandbox's handle recorded (pid + start time), or, for a sandbox whose handle this
// process cannot see (another state directory), if it runs as host uid 0 inside that sandbox's own
// network namespace. No sandboxed process is host uid 0, and none can enter another namespace.
import * as fs from "fs";
import * as path from "path";
import { run } from "../host/exec";
import { Cgroup, detectCgroupHost, findAirlockCgroups, V1_CONTROLLERS } from "../host/cgroup";
import { NAME_PREFIX } from "../naming";
import { LINK_ALIAS_PREFIX, sandboxIdOfName, sandboxIdOfProcessName, isAirlockIfaceName, hostNames } from "./names";
import { unmount } from "./hostfs";
import { loadHandle } from "./handle";
import { netnsPath } from "./netns";
import { processStartTime } from "../host/process";

export type HostObjectKind = "process" | "cgroup" | "mount" | "nft-table" | "link" | "netns";
/** Removal order: what runs first, then what it runs in, then the network it sits on. */
export const REMOVAL_ORDER: HostObjectKind[] = ["process", "cgroup", "mount", "nft-table", "link", "netns"];

export interface HostObject {
  kind: HostObjectKind;
  name: string;
  /** The sandbox it belongs to, when the name says so. */
  id?: string;
  /** A cgroup that still holds processes. */
  inUse?: boolean;
  remove(): Promise<void>;
}

/** Ids Airlock gives sandboxes: `<name>-<6 hex>` (identityFor; Pulumi stacks too). */
export function isSandboxShapedId(id: string | undefined): boolean {
  return !!id && /-[0-9a-f]{6}$/.test(id);
}

/**
 * Whether the sweeper may remove an owner-less object: only what has the exact shape Airlock gives a
 * sandbox's objects — a sandbox-shaped id (isSandboxShapedId) in its name, alias or path, or, for a
 * link whose alias is missing (a crash between `ip link add` and setting it), Airlock's hashed veth
 * name (names.isAirlockIfaceName). Everything else that merely starts with "airlock" — a test
 * fixture (airlock-tf-<role>-<run tag>, test/helpers/run-scope.ts), another tool's object — is not a
 * sandbox of anyone's: whose it is and whether it is still in use is not the sweeper's call, and a
 * sweep of one test run must never take another run's fixtures away mid-test. Every object a
 * sandbox has carries its id (names.ts), so no real orphan is of another shape.
 */
export function sweepable(o: HostObject): boolean {
  if (o.id !== undefined) return isSandboxShapedId(o.id);
  return o.kind === "link" && isAirlockIfaceName(o.name);
}

async function lines(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args, { allowFail: true });
  return r.code === 0 ? r.stdout : "";
}

async function netnsObjects(): Promise<HostObject[]> {
  return (await lines("ip", ["netns", "list"]))
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter((n) => n.startsWith(NAME_PREFIX))
    .map((name) => ({ kind: "netns" as const, name, id: sandboxIdOfName(name), remove: async () => void (await run("ip", ["netns", "del", name], { allowFail: true })) }));
}

async function linkObjects(): Promise<HostObject[]> {
  const text = await lines("ip", ["-j", "link", "show"]);
  const links: { ifname: string; ifalias?: string }[] = text ? JSON.parse(text) : [];
  return links
    .filter((l) => l.ifname.startsWith(NAME_PREFIX))
    .map((l) => {
      const name = l.ifname.split("@")[0];
      const id = l.ifalias?.startsWith(LINK_ALIAS_PREFIX) ? l.ifalias.slice(LINK_ALIAS_PREFIX.length) : undefined;
      return { kind: "link" as const, name, id, remove: async () => void (await run("ip", ["link", "del", name], { allowFail: true })) };
    });
}

async function nftObjects(): Promise<HostObject[]> {
  const text = await lines("nft", ["-j", "list", "tables"]);
  const items: any[] = text ? JSON.parse(text).nftables ?? [] : [];
  return items
    .filter((i) => i.table && String(i.table.name).startsWith(NAME_PREFIX))
    .map((i) => {
      const { family, name } = i.table;
      return { kind: "nft-table" as const, name: `${family} ${name}`, id: sandboxIdOfName(name), remove: async () => void (await run("nft", ["delete", "table", family, name], { allowFail: true })) };
    });
}

function cgroupObjects(): HostObject[] {
  if (!fs.existsSync("/sys/fs/cgroup")) return [];
  const host = detectCgroupHost();
  const roots = host.mode === "v2" ? [host.root] : V1_CONTROLLERS.map((c) => path.join(host.root, c));
  const rels = new Set<string>();
  for (const p of findAirlockCgroups(host)) {
    const root = roots.find((r) => p.startsWith(r + "/"));
    if (root) rels.add(path.relative(root, p));
  }
  return [...rels].map((rel) => {
    const cg = new Cgroup(host, rel);
    return { kind: "cgroup" as const, name: rel, id: sandboxIdOfName(path.basename(rel)), inUse: cg.processes().length > 0, remove: () => cg.remove() };
  });
}

/** A sandbox's tmpfs is mounted at <state>/sandboxes/<id>/fs, its devpts at .../pts (any state dir). */
const SANDBOX_MOUNT_RE = /\/sandboxes\/([a-z][a-z0-9-]+[a-z0-9])\/(fs|pts)$/;
const MOUNT_FSTYPE: Record<string, string> = { fs: "tmpfs", pts: "devpts" };

function mountObjects(): HostObject[] {
  let text = "";
  try {
    text = fs.readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return [];
  }
  const out: HostObject[] = [];
  for (const line of text.split("\n")) {
    const [pre, post] = line.split(" - ");
    if (!post) continue;
    const point = pre.split(" ")[4]?.replace(/\\040/g, " ");
    const m = point ? SANDBOX_MOUNT_RE.exec(point) : null;
    if (!m || post.split(" ")[0] !== MOUNT_FSTYPE[m[2]]) continue;
    out.push({ kind: "mount", name: point, id: m[1], remove: () => unmount(point) });
  }
  return out;
}

const SANDBOX_PATH_RE = /\/sandboxes\/([a-z][a-z0-9-]+[a-z0-9])\//;

/** Whether a process runs inside a sandbox's (or any Airlock-named) cgroup, in any hierarchy. */
export function inAirlockCgroup(pid: number): boolean {
  try {
    return fs
      .readFileSync(`/proc/${pid}/cgroup`, "utf8")
      .split("\n")
      .some((l) => l.split(":").slice(2).join(":").split("/").some((part) => part.startsWith(`${NAME_PREFIX}-`)));
  } catch {
    return true; // gone (or unreadable): never evidence of anything
  }
}

function realUid(pid: number): number | undefined {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function inNetnsOf(pid: number, id: string): boolean {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/net`) === `net:[${fs.statSync(netnsPath(hostNames(id).netns)).ino}]`;
  } catch {
    return false;
  }
}

/** Processes that carry a sandbox id, outside every sandbox cgroup (see the header). */
function processObjects(): (HostObject & { pid: number; argv: string[] })[] {
  const out: (HostObject & { pid: number; argv: string[] })[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    } catch {
      continue;
    }
    if (argv.length === 0) continue;
    let id = sandboxIdOfProcessName(argv[0]);
    if (!id && /inotifywait|bwrap|toxiproxy/.test(path.basename(argv[0]))) {
      const m = argv.map((a) => SANDBOX_PATH_RE.exec(a)).find(Boolean);
      id = m?.[1];
    }
    if (!id || inAirlockCgroup(pid)) continue;
    out.push({
      kind: "process",
      name: `${pid} ${argv.join(" ").slice(0, 120)}`,
      id,
      pid,
      argv,
      remove: async () => {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      },
    });
  }
  return out;
}

/** Whether `pid` is the live namespace anchor of sandbox `id` (not just a process named like one). */
export function isSandboxAnchor(pid: number, id: string): boolean {
  if (realUid(pid) !== 0 || inAirlockCgroup(pid)) return false;
  const recorded = loadHandle(id)?.anchor;
  if (recorded) return recorded.pid === pid && processStartTime(pid) === recorded.startTime;
  return inNetnsOf(pid, id);
}

/**
 * Ids of sandboxes whose namespace anchor is alive. The anchor dies with its sandbox's owner
 * (PR_SET_PDEATHSIG), so this tells "owned" from "orphaned" even for a sandbox of another state
 * directory, whose journal this process cannot see.
 */
export function liveAnchorIds(): Set<string> {
  const ids = new Set<string>();
  for (const p of processObjects()) if (p.argv[0].startsWith(`${NAME_PREFIX}-anchor-`) && p.id && isSandboxAnchor(p.pid, p.id)) ids.add(p.id);
  return ids;
}

/** Every Airlock host object of the local backend on this host. */
export async function scanHostObjects(): Promise<HostObject[]> {
  const [netns, links, tables] = await Promise.all([netnsObjects(), linkObjects(), nftObjects()]);
  return [...processObjects(), ...cgroupObjects(), ...mountObjects(), ...tables, ...links, ...netns];
}

/** Whether an object belongs to one of `liveIds` (links without an alias are matched by their hashed name). */
export function belongsToLive(o: HostObject, liveIds: Set<string>): boolean {
  if (o.id) return liveIds.has(o.id);
  if (o.kind === "link" && isAirlockIfaceName(o.name)) {
    for (const id of liveIds) {
      const n = hostNames(id);
      if (o.name === n.hostIface || o.name === n.svcHostIface) return true;
    }
  }
  return false;
}

/** Removes objects in dependency order; returns what could not be removed. */
export async function removeObjects(objects: HostObject[]): Promise<{ object: HostObject; error: string }[]> {
  const failed: { object: HostObject; error: string }[] = [];
  for (const kind of REMOVAL_ORDER) {
    for (const o of objects.filter((x) => x.kind === kind)) {
      try {
        await o.remove();
      } catch (e) {
        failed.push({ object: o, error: (e as Error).message });
      }
    }
  }
  return failed;
}
