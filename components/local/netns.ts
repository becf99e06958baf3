// The boundary's plumbing: a network namespace with no default route and IPv6 off, joined to the host
// by one veth pair whose inner end is created directly inside the namespace (fixed name, no clash).
// Undo kinds: "netns" (ip netns del) and "link" (ip link del; deleting one end removes the pair).
//
// Speed: a namespace with its veth was 11 `ip`/`sysctl` commands, each spawned from Node (10-30 ms
// apiece on a loaded 2-core host: most of a create's time). createBoundary runs them in one /bin/sh
// (`set -e`), with `ip -batch` for the settings of each side and the sysctls as /proc/sys writes (5
// execs per namespace), and every object's undo journaled before the shell starts: the undos are
// idempotent ("already gone" is success), so an object the shell never got to is simply not found.
import * as fs from "fs";
import { registerUndo, UndoJournal } from "../host/journal";
import { findTool, HostToolMissing, run } from "../host/exec";
import { INNER_IFACE } from "./names";
import type { Slash30 } from "./leases";

export function netnsPath(name: string): string {
  return `/run/netns/${name}`;
}

const gone = (stderr: string) => /No such file|does not exist|Cannot find device|not found/i.test(stderr);

async function deleteNetns(name: string): Promise<void> {
  const r = await run("ip", ["netns", "del", name], { allowFail: true });
  if (r.code !== 0 && !gone(r.stderr)) throw new Error(`ip netns del ${name}: ${r.stderr.trim()}`);
}

/**
 * Deletes a host link if it is still there and still ours (its alias, when journaled, matches: the
 * host-side name is a 7-hex hash of the id, and a colliding `ip link add` must never make this undo
 * delete another sandbox's link). Reads sysfs first, so an already-gone link costs no process.
 */
async function deleteLink(name: string, alias?: string): Promise<void> {
  let current: string;
  try {
    current = fs.readFileSync(`/sys/class/net/${name}/ifalias`, "utf8").trim();
  } catch {
    return; // gone (e.g. with its namespace's end)
  }
  if (alias !== undefined && current !== alias && current !== "") return; // another sandbox's link
  const r = await run("ip", ["link", "del", name], { allowFail: true });
  if (r.code !== 0 && !gone(r.stderr)) throw new Error(`ip link del ${name}: ${r.stderr.trim()}`);
}

registerUndo("netns", (a: { name: string }) => deleteNetns(a.name));
registerUndo("link", (a: { name: string; alias?: string }) => deleteLink(a.name, a.alias));

/** Runs a command inside a namespace (nsenter joins only the network namespace: no remounts, cheap). */
export function inNetns(netns: string, cmd: string, args: string[], opts: { input?: string; allowFail?: boolean } = {}) {
  return run("nsenter", [`--net=${netnsPath(netns)}`, "--", cmd, ...args], opts);
}

/**
 * Sysctls of a fresh boundary namespace: IPv6 off everywhere (so there is no v6 path at all, not even
 * link-local), no unprivileged ICMP sockets, no forwarding.
 */
const BOUNDARY_SYSCTLS = [
  "net.ipv6.conf.all.disable_ipv6=1",
  "net.ipv6.conf.default.disable_ipv6=1",
  "net.ipv6.conf.lo.disable_ipv6=1",
  "net.ipv4.ping_group_range=1 0",
  "net.ipv4.ip_forward=0",
  "net.ipv4.conf.all.accept_redirects=0",
  "net.ipv4.conf.default.accept_redirects=0",
];

const q = (v: string) => `'${v.replace(/'/g, "'\\''")}'`;

function tool(name: string): string {
  const p = findTool(name);
  if (!p) throw new HostToolMissing(name);
  return p;
}

/** One namespace and its veth pair: the shell commands that make them (journaled by createBoundary). */
export interface BoundaryLink {
  netns: string;
  hostIface: string;
  alias: string;
  net: Slash30;
}

/** A sysctl as the write to its /proc/sys file (a shell builtin: no process per setting). */
const sysctlWrite = (setting: string) => {
  const [key, value] = setting.split("=");
  return `echo ${q(value)} > /proc/sys/${key.replace(/\./g, "/")}`;
};

function boundaryScript(l: BoundaryLink, t: { ip: string; nsenter: string }): string[] {
  const ns = l.netns;
  const h = l.hostIface;
  // Names are checked (names.ts: [a-z0-9-], host iface airlock<hex>) and addresses are dotted quads,
  // so they need no quoting inside `ip -batch` lines.
  return [
    `${t.ip} netns add ${q(ns)}`,
    // The namespace's sysctls before its veth end exists: eth0 is born with IPv6 off (conf/default).
    `${t.nsenter} --net=${q(netnsPath(ns))} -- /bin/sh -ec ${q(BOUNDARY_SYSCTLS.map(sysctlWrite).join("; "))}`,
    `${t.ip} link add ${q(h)} type veth peer name ${INNER_IFACE} netns ${q(ns)}`,
    // No IPv6 on the host side either (no link-local address, no router solicitations into the sandbox).
    `echo 1 > /proc/sys/net/ipv6/conf/${h}/disable_ipv6 || true`,
    `${t.ip} -batch - <<'EOF'\nlink set dev ${h} alias ${l.alias}\naddr add ${l.net.hostAddress}/${l.net.prefix} dev ${h}\nlink set ${h} up\nEOF`,
    `${t.ip} -n ${q(ns)} -batch - <<'EOF'\nlink set lo up\naddr add ${l.net.innerAddress}/${l.net.prefix} dev ${INNER_IFACE}\nlink set ${INNER_IFACE} up\nEOF`,
  ];
}

/**
 * Creates each namespace (no default route, IPv6 off, lo up) with `hostIface` on the host and its peer
 * INNER_IFACE inside, both ends addressed from the leased /30 and up — in one shell. Only the /30's
 * connected route exists inside: no default route.
 */
export async function createBoundary(journal: UndoJournal, links: BoundaryLink[]): Promise<void> {
  const t = { ip: q(tool("ip")), nsenter: q(tool("nsenter")) };
  for (const l of links) {
    journal.record("netns", `network namespace ${l.netns}`, { name: l.netns });
    journal.record("link", `veth ${l.hostIface} <-> ${l.netns}/${INNER_IFACE}`, { name: l.hostIface, alias: l.alias });
  }
  const script = ["set -e", ...links.flatMap((l) => boundaryScript(l, t))].join("\n");
  const r = await run("/bin/sh", ["-c", script], { allowFail: true });
  if (r.code !== 0) throw new Error(`creating ${links.map((l) => `network namespace ${l.netns} with veth ${l.hostIface}`).join(" and ")} failed: ${r.stderr.trim()}`);
}

/** `ip route get <address>` inside a namespace: the route, or the kernel's refusal (e.g. "Network is unreachable"). */
export async function routeGet(netns: string, address: string): Promise<{ ok: boolean; text: string }> {
  const r = await run("ip", ["-n", netns, "route", "get", address], { allowFail: true });
  return { ok: r.code === 0, text: (r.code === 0 ? r.stdout : r.stderr).trim() };
}
