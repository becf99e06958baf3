// Real IP-level packet loss with tc netem, scoped to one gate listener: an HTB qdisc at the root of
// the interface sends everything to a default class with no limit worth the name (10 Gbit/s), and a
// u32 filter on the listener's port sends that upstream's packets to a second class whose leaf is
// netem. TCP then sees genuine loss (retransmits, RTO back-off), unlike anything a TCP proxy can do.
// (HTB rather than prio as the classifier root: some kernels, this CI host's among them, build HTB
// but not prio.)
//
//   stream upstream   (workload -> gate): the workload-side interface, inside the sandbox netns,
//                                         packets with destination port = listener port
//   stream downstream (gate -> workload): the host-side interface, source port = listener port
//
// Needs the kernel's sch_netem (cloud VMs usually have it; this CI host does not: "Specified qdisc
// kind is unknown"), detected once per process by trying it in a throwaway network namespace.
// Undo deletes the root qdisc, which restores the kernel default; a non-default root qdisc (someone
// else's shaping) is refused, because deleting it could not be undone.
import * as fs from "fs";
import { findTool, run } from "../../components/host/exec";
import { registerUndo, UndoOutcome } from "../../components/host/journal";
import { applyStep, FaultContext, undoSteps } from "./types";

export type Availability = true | string;

/** Root qdiscs the kernel installs by itself: deleting our root brings one of these back. */
const DEFAULT_ROOT_QDISCS = new Set(["noqueue", "pfifo_fast", "fq_codel", "mq", "fq", "pfifo", "fq_pie", "cake_mq"]);

let kernelNetem: Promise<Availability> | undefined;

/** Whether the kernel has sch_netem: tried in a private, throwaway netns (nothing to clean up). */
export function kernelHasNetem(): Promise<Availability> {
  kernelNetem ??= (async (): Promise<Availability> => {
    if (!findTool("tc")) return "tc is not installed (apt-get install iproute2)";
    if (!findTool("unshare")) return "unshare is not installed (apt-get install util-linux)";
    const r = await run("unshare", ["--net", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "loss", "1%"], { allowFail: true, timeoutMs: 5000 }).catch((e) => ({ code: -1, stdout: "", stderr: String(e.message) }));
    if (r.code === 0) return true;
    if (/unknown/i.test(r.stderr)) return `the kernel has no sch_netem (tc: ${r.stderr.trim().split("\n")[0]})`;
    return `cannot try tc netem: ${r.stderr.trim().split("\n")[0] || `exit ${r.code}`}`;
  })();
  return kernelNetem;
}

export interface NetemPlacement {
  netns?: string;
  iface: string;
  /** The gate listener's port. */
  port: number;
  /** dport: workload -> gate packets; sport: gate -> workload packets. */
  match: "dport" | "sport";
}

const tcArgs = (netns: string | undefined, args: string[]) => (netns ? ["-n", netns, ...args] : args);

function netnsExists(name: string): boolean {
  return fs.existsSync(`/run/netns/${name}`);
}

/** Whether netem can run at this placement: kernel support, the interface, a default root qdisc. */
export async function netemAvailableAt(p: { netns?: string; iface?: string }): Promise<Availability> {
  const kernel = await kernelHasNetem();
  if (kernel !== true) return kernel;
  if (!p.iface) return "the target names no interface for this direction";
  if (p.netns && !netnsExists(p.netns)) return `network namespace '${p.netns}' does not exist`;
  return rootQdiscIsDefault(p.netns, p.iface);
}

/** true when the interface's root qdisc is one the kernel installs by itself (nobody's shaping). */
export async function rootQdiscIsDefault(netns: string | undefined, iface: string): Promise<Availability> {
  let root: string;
  try {
    root = await rootQdisc(netns, iface);
  } catch (e: any) {
    return `cannot read qdiscs of ${iface}: ${e.message}`;
  }
  if (!DEFAULT_ROOT_QDISCS.has(root)) return `interface ${iface} has a '${root}' root qdisc; netem would replace it and it could not be restored`;
  return true;
}

async function rootQdisc(netns: string | undefined, iface: string): Promise<string> {
  const r = await run("tc", tcArgs(netns, ["-j", "qdisc", "show", "dev", iface]), { timeoutMs: 5000 });
  const list = JSON.parse(r.stdout || "[]") as { kind: string; root?: boolean }[];
  return list.find((q) => q.root)?.kind ?? "noqueue";
}

/** Handle of the root qdisc Airlock installs; unusual on purpose, so undo can tell ours from others'. */
export const AIRLOCK_ROOT_HANDLE = "a1a0";

export function netemLeaf(loss: number, correlation: number): string[] {
  const pct = (x: number) => `${Math.round(x * 1e6) / 1e4}%`;
  return ["netem", "loss", pct(loss), ...(correlation > 0 ? [pct(correlation)] : [])];
}

/**
 * Installs htb + leaf + filter at `p`, journaled as one step (undo: delete the root qdisc).
 * `leaf` is the leaf qdisc's arguments (netem ...); the plumbing test substitutes pfifo on hosts
 * without sch_netem.
 */
export async function installScopedQdisc(ctx: FaultContext, p: NetemPlacement, leaf: string[]): Promise<{ update(leaf: string[]): Promise<void>; remove(): Promise<UndoOutcome[]> }> {
  const tc = (args: string[]) => run("tc", tcArgs(p.netns, args), { timeoutMs: 5000 });
  const where = `${p.iface}${p.netns ? ` in netns ${p.netns}` : ""}`;
  // Checked again here, not only at validation: a root qdisc installed since then is someone else's
  // shaping, which we could neither keep under ours nor restore afterwards.
  const free = await rootQdiscIsDefault(p.netns, p.iface);
  if (free !== true) throw new Error(free);
  const id = await applyStep(ctx, "tc-qdisc-root", `${leaf[0]} on ${where} (${p.match} ${p.port})`, { netns: p.netns, iface: p.iface }, async () => {
    // r2q 100000 keeps HTB's quantum (rate / r2q) in range at 10 Gbit/s, so it prints no warning.
    await tc(["qdisc", "add", "dev", p.iface, "root", "handle", `${AIRLOCK_ROOT_HANDLE}:`, "htb", "default", "10", "r2q", "100000"]);
    for (const cls of ["10", "30"]) await tc(["class", "add", "dev", p.iface, "parent", `${AIRLOCK_ROOT_HANDLE}:`, "classid", `${AIRLOCK_ROOT_HANDLE}:${cls}`, "htb", "rate", "10gbit"]);
    await tc(["qdisc", "add", "dev", p.iface, "parent", `${AIRLOCK_ROOT_HANDLE}:30`, "handle", "30:", ...leaf]);
    await tc(["filter", "add", "dev", p.iface, "parent", `${AIRLOCK_ROOT_HANDLE}:`, "protocol", "ip", "prio", "1", "u32", "match", "ip", p.match, String(p.port), "0xffff", "flowid", `${AIRLOCK_ROOT_HANDLE}:30`]);
  });
  return {
    update: async (next) => void (await tc(["qdisc", "change", "dev", p.iface, "parent", `${AIRLOCK_ROOT_HANDLE}:30`, "handle", "30:", ...next])),
    remove: () => undoSteps(ctx.journal, [id]),
  };
}

/**
 * Deletes Airlock's root qdisc (recognised by its handle) and nothing else: if the install failed
 * because someone else's root was there, or theirs replaced ours since, it is left alone.
 * "Already gone" (no qdisc, no interface, no netns) is success.
 */
export async function removeRootQdisc(a: { netns?: string; iface: string }): Promise<void> {
  if (a.netns && !netnsExists(a.netns)) return;
  const shown = await run("tc", tcArgs(a.netns, ["-j", "qdisc", "show", "dev", a.iface]), { allowFail: true, timeoutMs: 5000 });
  if (shown.code !== 0) {
    if (/Cannot find device|does not exist/i.test(shown.stderr)) return;
    throw new Error(`tc qdisc show dev ${a.iface}: ${shown.stderr.trim()}`);
  }
  const root = (JSON.parse(shown.stdout || "[]") as { handle?: string; root?: boolean }[]).find((q) => q.root);
  if (root?.handle !== `${AIRLOCK_ROOT_HANDLE}:`) return;
  const r = await run("tc", tcArgs(a.netns, ["qdisc", "del", "dev", a.iface, "root"]), { allowFail: true, timeoutMs: 5000 });
  if (r.code === 0) return;
  if (/handle of zero|No such file|Cannot find device|does not exist|Invalid handle/i.test(r.stderr)) return;
  throw new Error(`tc qdisc del dev ${a.iface} root: ${r.stderr.trim()}`);
}

registerUndo("tc-qdisc-root", removeRootQdisc);
