// The tests' own view of what Airlock left on the host, read from the kernel — deliberately
// independent of the code under test. components/local/hostscan.ts (scanHostObjects) does a similar
// job for `airlock sweep`, but judging cleanup with it would let its own bugs hide themselves (it turns
// an `ip`/`nft` failure into "nothing found", and objects without an id-carrying name or alias are
// invisible to an id filter). This reader:
//   - network namespaces: `ip -j netns list`;
//   - links on the host: by name, by alias, and by veth peer (the host end of every veth whose other
//     end is inside an Airlock namespace, whatever it is called), from `ip -j -d link show`;
//   - nft tables: `nft -j list tables`;
//   - cgroups: every cgroup/cgroup2 mount in /proc/self/mountinfo (each v1 hierarchy, the v2 tree),
//     walked to the bottom;
//   - mounts: /proc/self/mountinfo;
//   - processes: /proc/<pid>/{cmdline,cgroup,ns/net,environ} — by cgroup, by network namespace and by
//     name, so a workload that renamed itself is still found by the cgroup it cannot leave.
// Every host tool that fails (cannot run, killed, non-zero exit) throws, and so does any read error
// other than "that process/directory just went away": a check that could not look must not pass.
//
// Names are re-derived here from the documented scheme (components/local/names.ts's header), not
// imported from it: netns/nft/cgroup `airlock-<id>[-svc]`, the gate's cgroup `airlock-<id>-gate`, veths `airlock<sha256(id)[0:7]>[st]` with
// alias `airlock:<id>`, processes `airlock-gate-<id>` / `airlock-anchor-<id>`, tmpfs at
// `<state>/sandboxes/<id>/fs`.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";

/** A host tool's stdout. Throws when it cannot run, is killed, or exits with a status not in okStatus. */
export function tool(cmd: string, args: string[], okStatus: number[] = [0]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 20_000 });
  const what = `${cmd} ${args.join(" ")}`;
  if (r.error) throw new Error(`kernel-view: '${what}' could not run: ${r.error.message}`);
  if (r.status === null || !okStatus.includes(r.status)) throw new Error(`kernel-view: '${what}' failed (${r.status === null ? `signal ${r.signal}` : `exit ${r.status}`}): ${r.stderr.trim()}`);
  return r.stdout;
}

function toolJson<T>(cmd: string, args: string[]): T {
  const out = tool(cmd, args).trim();
  if (out === "") return [] as unknown as T; // `ip -j netns list` prints nothing at all when there are none
  try {
    return JSON.parse(out);
  } catch (e) {
    throw new Error(`kernel-view: '${cmd} ${args.join(" ")}' printed no JSON: ${out.slice(0, 200)}`);
  }
}

/**
 * Reads a file; undefined only when it (or its process) is gone — or, with `deniedOk`, when the
 * kernel denies it (kernel threads' and pid 1's environ and ns/net here: ptrace access rules). Any
 * other error throws.
 */
function readGone(file: string, deniedOk = false): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e: any) {
    if (e.code === "ENOENT" || e.code === "ESRCH" || (deniedOk && e.code === "EACCES")) return undefined;
    throw new Error(`kernel-view: cannot read ${file}: ${e.code ?? e.message}`);
  }
}

export interface LinkInfo {
  ifindex: number;
  ifname: string;
  ifalias?: string;
  kind?: string;
  /** The veth peer's ifindex (in the namespace link_netnsid names). */
  peerIndex?: number;
  peerNetnsId?: number;
}

export interface ProcInfo {
  pid: number;
  argv: string[];
  /** Cgroup paths, one per hierarchy line of /proc/<pid>/cgroup. */
  cgroups: string[];
  netnsIno?: number;
  /** AIRLOCK_STATE_DIR and AIRLOCK_TEST_RUN from its environment, if set. */
  stateDir?: string;
  testRun?: string;
}

export interface Snapshot {
  netns: { name: string; ino?: number }[];
  links: LinkInfo[];
  /** Links inside each Airlock-named namespace. */
  nsLinks: Record<string, LinkInfo[]>;
  nftTables: { family: string; name: string }[];
  /** Cgroup directories (absolute paths) in every hierarchy. */
  cgroupDirs: string[];
  mounts: { point: string; fstype: string; source: string }[];
  processes: ProcInfo[];
}

function links(netns?: string): LinkInfo[] {
  const raw = toolJson<any[]>("ip", [...(netns ? ["-n", netns] : []), "-j", "-d", "link", "show"]);
  return raw.map((l) => ({
    ifindex: l.ifindex,
    ifname: String(l.ifname).split("@")[0],
    ifalias: l.ifalias,
    kind: l.linkinfo?.info_kind,
    peerIndex: l.link_index,
    peerNetnsId: l.link_netnsid,
  }));
}

/** Mount points of every cgroup hierarchy (v1 controllers and the v2 tree), from mountinfo. */
export function cgroupMounts(mountinfo = readGone("/proc/self/mountinfo")!): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split("\n")) {
    const [pre, post] = line.split(" - ");
    if (!post) continue;
    const fstype = post.split(" ")[0];
    if (fstype === "cgroup" || fstype === "cgroup2") out.push(pre.split(" ")[4].replace(/\\040/g, " "));
  }
  return out;
}

function walkCgroups(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (e: any) {
      if (e.code === "ENOENT" && dir !== root) return; // removed meanwhile
      throw new Error(`kernel-view: cannot list ${dir}: ${e.code ?? e.message}`);
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      out.push(p);
      if (depth < 32) walk(p, depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

function envValue(environ: string | undefined, key: string): string | undefined {
  const hit = environ?.split("\0").find((kv) => kv.startsWith(key + "="));
  return hit?.slice(key.length + 1);
}

function processes(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const cmdline = readGone(`/proc/${pid}/cmdline`);
    const cgroup = readGone(`/proc/${pid}/cgroup`);
    if (cmdline === undefined || cgroup === undefined) continue; // exited meanwhile
    let netnsIno: number | undefined;
    try {
      netnsIno = Number(/\[(\d+)\]/.exec(fs.readlinkSync(`/proc/${pid}/ns/net`))?.[1]);
    } catch (e: any) {
      // Denied for pid 1 here; cmdline and cgroup (read above, never denied) still judge it.
      if (e.code !== "ENOENT" && e.code !== "ESRCH" && e.code !== "EACCES") throw new Error(`kernel-view: cannot read /proc/${pid}/ns/net: ${e.code}`);
    }
    const environ = readGone(`/proc/${pid}/environ`, true);
    out.push({
      pid,
      argv: cmdline.split("\0").filter(Boolean),
      cgroups: cgroup
        .split("\n")
        .filter(Boolean)
        .map((l) => l.slice(l.indexOf(":", l.indexOf(":") + 1) + 1)),
      netnsIno,
      stateDir: envValue(environ, "AIRLOCK_STATE_DIR"),
      testRun: envValue(environ, "AIRLOCK_TEST_RUN"),
    });
  }
  return out;
}

/** One read of everything, so that one check judges one moment. */
export function snapshot(): Snapshot {
  const netns = toolJson<{ name: string }[]>("ip", ["-j", "netns", "list"]).map((n) => {
    let ino: number | undefined;
    try {
      ino = fs.statSync(`/run/netns/${n.name}`).ino;
    } catch {
      /* deleted meanwhile */
    }
    return { name: n.name, ino };
  });
  const nsLinks: Record<string, LinkInfo[]> = {};
  for (const n of netns) {
    if (!/airlock/i.test(n.name)) continue;
    try {
      nsLinks[n.name] = links(n.name);
    } catch (e) {
      if (fs.existsSync(`/run/netns/${n.name}`)) throw e; // not "deleted meanwhile": a real failure
    }
  }
  const nft = toolJson<{ nftables: any[] }>("nft", ["-j", "list", "tables"]);
  const mountinfo = readGone("/proc/self/mountinfo")!;
  return {
    netns,
    links: links(),
    nsLinks,
    nftTables: (nft.nftables ?? []).filter((i) => i.table).map((i) => ({ family: i.table.family, name: i.table.name })),
    cgroupDirs: cgroupMounts(mountinfo).flatMap(walkCgroups),
    mounts: mountinfo
      .split("\n")
      .filter((l) => l.includes(" - "))
      .map((l) => {
        const [pre, post] = l.split(" - ");
        const [fstype, source] = post.split(" ");
        return { point: pre.split(" ")[4].replace(/\\040/g, " "), fstype, source };
      }),
    processes: processes(),
  };
}

/** The host-side veth names of a sandbox, re-derived from the documented scheme. */
export function vethNamesOf(id: string): string[] {
  const h = crypto.createHash("sha256").update(id).digest("hex").slice(0, 7);
  return [`airlock${h}s`, `airlock${h}t`];
}

/** Host links whose veth peer sits in one of `namespaces` (matched both ways: ifindex and peer index). */
function hostPeersOf(snap: Snapshot, namespaces: string[]): LinkInfo[] {
  const inner = namespaces.flatMap((ns) => snap.nsLinks[ns] ?? []).filter((l) => l.kind === "veth" && l.peerIndex !== undefined);
  return snap.links.filter((h) => h.kind === "veth" && inner.some((i) => i.peerIndex === h.ifindex && h.peerIndex === i.ifindex));
}

const procLine = (p: ProcInfo) => `${p.pid} ${p.argv.join(" ").slice(0, 160)}`;

export type ObjectKind = "netns" | "link" | "nft-table" | "cgroup" | "mount" | "process";

/** One host object: `key` identifies it (name, path, "family name", pid), `label` is for messages. */
export interface HostObject {
  kind: ObjectKind;
  key: string;
  label: string;
  proc?: ProcInfo;
}

const obj = (kind: ObjectKind, key: string, label = key, proc?: ProcInfo): HostObject => ({ kind, key, label: `${kind} ${label}`, proc });

/**
 * Every host object of sandbox `id`: its namespaces, the host ends of their veths (by name, alias or
 * peer), its nft tables, its cgroups in every hierarchy, its tmpfs mounts, and every process in its
 * cgroups, in its namespaces or named for it. Labels say how each was found.
 */
export function sandboxObjects(id: string, snap: Snapshot = snapshot()): HostObject[] {
  const base = `airlock-${id}`;
  const own = (name: string) => name === base || name === `${base}-svc` || name === `${base}-gate`;
  const out: HostObject[] = [];
  const namespaces = snap.netns.filter((n) => own(n.name));
  for (const n of namespaces) out.push(obj("netns", n.name));
  const veths = vethNamesOf(id);
  const linkHits = new Map<string, string[]>();
  const hit = (l: LinkInfo, why: string) => linkHits.set(l.ifname, [...(linkHits.get(l.ifname) ?? []), why]);
  for (const l of snap.links) {
    if (veths.includes(l.ifname)) hit(l, "name");
    if (l.ifalias === `airlock:${id}`) hit(l, "alias");
  }
  for (const l of hostPeersOf(snap, namespaces.map((n) => n.name))) hit(l, "veth peer");
  for (const [name, why] of linkHits) out.push(obj("link", name, `${name} (by ${why.join(", ")})`));
  for (const t of snap.nftTables) if (own(t.name)) out.push(obj("nft-table", `${t.family} ${t.name}`));
  for (const d of snap.cgroupDirs) if (own(path.basename(d))) out.push(obj("cgroup", d));
  for (const m of snap.mounts) if (m.point.includes(`/sandboxes/${id}/`) || m.point.endsWith(`/sandboxes/${id}`)) out.push(obj("mount", m.point, `${m.point} (${m.fstype})`));
  const inos = new Set(namespaces.map((n) => n.ino).filter((i): i is number => i !== undefined));
  for (const p of snap.processes) {
    const why: string[] = [];
    if (p.cgroups.some((c) => c.split("/").some(own))) why.push("cgroup");
    if (p.netnsIno !== undefined && inos.has(p.netnsIno)) why.push("netns");
    if (p.argv[0] === `airlock-gate-${id}` || p.argv[0] === `airlock-anchor-${id}`) why.push("name");
    if (p.argv.some((a) => a.includes(`/sandboxes/${id}/`))) why.push("path");
    if (why.length) out.push(obj("process", String(p.pid), `${procLine(p)} (by ${why.join(", ")})`, p));
  }
  return out;
}

/** sandboxObjects as message lines ("netns airlock-x", "process 123 sleep 60 (by cgroup)"). */
export function objectsOfSandbox(id: string, snap: Snapshot = snapshot()): string[] {
  return sandboxObjects(id, snap).map((o) => o.label);
}

const AIRLOCKISH = /airlock/i;

/** Host links whose veth peer sits in one of `namespaces` (exported for the run scope). */
export function vethPeersIn(snap: Snapshot, namespaces: string[]): string[] {
  return hostPeersOf(snap, namespaces).map((l) => l.ifname);
}

/**
 * Every Airlock-looking object on the host, whoever made it: names containing "airlock" (netns, links
 * by name or alias, host ends of veths into such namespaces, nft tables, cgroups), tmpfs under a
 * sandboxes/ directory, and processes that are named so, run in such a cgroup or namespace, or were
 * started with an Airlock state directory (gates, supervisors, watchdogs, CLI runs).
 */
export function airlockObjects(snap: Snapshot = snapshot()): HostObject[] {
  const out: HostObject[] = [];
  const ns = snap.netns.filter((n) => AIRLOCKISH.test(n.name));
  for (const n of ns) out.push(obj("netns", n.name));
  const peers = new Set(vethPeersIn(snap, ns.map((n) => n.name)));
  for (const l of snap.links) if (AIRLOCKISH.test(l.ifname) || AIRLOCKISH.test(l.ifalias ?? "") || peers.has(l.ifname)) out.push(obj("link", l.ifname, `${l.ifname}${l.ifalias ? ` (alias ${l.ifalias})` : ""}`));
  for (const t of snap.nftTables) if (AIRLOCKISH.test(t.name)) out.push(obj("nft-table", `${t.family} ${t.name}`));
  for (const d of snap.cgroupDirs) if (AIRLOCKISH.test(path.basename(d)) && !AIRLOCKISH.test(path.basename(path.dirname(d)))) out.push(obj("cgroup", d));
  for (const m of snap.mounts) if (/\/sandboxes\/[^/]+\/fs$/.test(m.point)) out.push(obj("mount", m.point, `${m.point} (${m.fstype})`));
  const inos = new Set(ns.map((n) => n.ino));
  for (const p of snap.processes) {
    const named = /^airlock-/.test(path.basename(p.argv[0] ?? "")) || /toxiproxy-server$/.test(p.argv[0] ?? "");
    const contained = p.cgroups.some((c) => c.split("/").some((part) => AIRLOCKISH.test(part))) || (p.netnsIno !== undefined && inos.has(p.netnsIno));
    if (named || contained || p.stateDir !== undefined) out.push(obj("process", String(p.pid), procLine(p), p));
  }
  return out;
}
