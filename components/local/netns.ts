// The boundary's plumbing: a network namespace with no default route and IPv6 off, joined to the host
// by one veth pair whose inner end is created directly inside the namespace (fixed name, no clash).
// Undo kinds: "netns" (ip netns del) and "link" (ip link del; deleting one end removes the pair).
import { registerUndo, UndoJournal } from "../host/journal";
import { run } from "../host/exec";
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

async function deleteLink(name: string): Promise<void> {
  const r = await run("ip", ["link", "del", name], { allowFail: true });
  if (r.code !== 0 && !gone(r.stderr)) throw new Error(`ip link del ${name}: ${r.stderr.trim()}`);
}

registerUndo("netns", (a: { name: string }) => deleteNetns(a.name));
registerUndo("link", (a: { name: string }) => deleteLink(a.name));

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

export async function createBoundaryNetns(journal: UndoJournal, name: string): Promise<void> {
  await journal.apply("netns", `network namespace ${name}`, { name }, () => run("ip", ["netns", "add", name]));
  await inNetns(name, "sysctl", ["-q", "-w", ...BOUNDARY_SYSCTLS]);
  await run("ip", ["-n", name, "link", "set", "lo", "up"]);
}

/**
 * Creates `hostIface` on the host and its peer INNER_IFACE inside `netns`, addresses both ends from
 * the leased /30, and brings them up. Only the /30's connected route exists inside: no default route.
 */
export async function createVethPair(journal: UndoJournal, opts: { hostIface: string; netns: string; alias: string; net: Slash30 }): Promise<void> {
  const { hostIface, netns, net } = opts;
  await journal.apply("link", `veth ${hostIface} <-> ${netns}/${INNER_IFACE}`, { name: hostIface }, () =>
    run("ip", ["link", "add", hostIface, "type", "veth", "peer", "name", INNER_IFACE, "netns", netns]),
  );
  // No IPv6 on the host side either (no link-local address, no router solicitations into the sandbox).
  await run("sysctl", ["-q", "-w", `net.ipv6.conf.${hostIface}.disable_ipv6=1`], { allowFail: true });
  await run("ip", ["link", "set", "dev", hostIface, "alias", opts.alias]);
  await run("ip", ["addr", "add", `${net.hostAddress}/${net.prefix}`, "dev", hostIface]);
  await run("ip", ["link", "set", hostIface, "up"]);
  await run("ip", ["-n", netns, "addr", "add", `${net.innerAddress}/${net.prefix}`, "dev", INNER_IFACE]);
  await run("ip", ["-n", netns, "link", "set", INNER_IFACE, "up"]);
}

/** `ip route get <address>` inside a namespace: the route, or the kernel's refusal (e.g. "Network is unreachable"). */
export async function routeGet(netns: string, address: string): Promise<{ ok: boolean; text: string }> {
  const r = await run("ip", ["-n", netns, "route", "get", address], { allowFail: true });
  return { ok: r.code === 0, text: (r.code === 0 ? r.stdout : r.stderr).trim() };
}
