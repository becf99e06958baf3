// How a process is put inside a sandbox — the workload, each `sandbox exec`, and each target:
//
//   airlock-seccomp-notify (root)                    the socket-family filter whose refusals are
//                                                    reported (notify/seccomp-notify.c, seccomp.ts);
//                                                    its responder stays outside everything below
//   bash launcher (root)                             for a root workload: a user namespace created by
//                                                    the workload's own uid (see below); closes every
//                                                    inherited descriptor; sets resource limits (no
//                                                    core dumps, 1024/4096 descriptors); joins the
//                                                    cgroup (before it can fork); execs
//   nsenter --net=/run/netns/<sandbox>               joins the boundary namespace (no default route)
//   (with the seccomp filter and no user namespace, the launcher does the bash launcher's and
//   nsenter's steps itself, in this order: two execs fewer per start — confinedCommand)
//   bwrap (root)                                     new pid/ipc/uts/mount/cgroup namespaces, read-only
//                                                    /usr and a curated /etc, /proc with /proc/sys (and
//                                                    sysrq-trigger, irq, bus) bound read-only, a /dev
//                                                    of six devices and a private devpts, private /tmp
//                                                    and work dir, --die-with-parent, --new-session,
//                                                    seccomp filter
//   sh: read the ids from a pipe (fd 5)              so that no uid is on any command line the workload
//                                                    can read (/proc/1/cmdline is bwrap's)
//   setpriv --reuid <uid> ... --no-new-privs         a non-root uid, every capability and the bounding
//                                                    set dropped, no new privileges
//   <command>
//
// bubblewrap runs as root without a user namespace: the workload then has a real, unprivileged uid
// on the host (files it writes are owned by that uid, not by a mapped root), and setpriv drops root
// as the last step. The environment is built from scratch — nothing tells the workload it runs
// under Airlock (Vivaria#1121: agents detect evaluations from their environment).
//
// A workload that asks for root (unsafe.runAsRoot) is root only inside a user namespace whose uid 0
// is the sandbox's leased uid — never host uid 0, which owns /proc/sys, root's inotify and key quotas
// and every root-owned file. The namespace is created by the leased uid itself (setpriv, then
// `unshare --user --map-root-user`), not by root: the kernel charges everything inside a user
// namespace (inotify instances, ...) to its creator too, so a root-created namespace would still spend
// root's quotas. bwrap still runs as host root (it needs root-owned state to mount), and only the last
// step enters the namespace (nsenter --user, given as descriptor 6 and closed before the command
// runs) and drops every capability held there. The seccomp filter is in force by then: the workload
// cannot make another user namespace, and it holds no descriptor of its own.
import * as fs from "fs";
import * as path from "path";
import { spawn, ChildProcess, StdioOptions } from "child_process";
import { findTool, HostToolMissing } from "../host/exec";
import { netnsPath } from "./netns";
import { socketNotifyFilter, workloadSeccompFilter } from "./seccomp";
import { notifyLauncher } from "./notify/launcher";
import { parseRefusal, SocketRefusal } from "./socket-refusals";
import { addToRefusalTally } from "./refusal-tally";
import { copyTree } from "./hostfs";
import type { Readable } from "stream";

export interface Bind {
  src: string;
  dest: string;
  writable?: boolean;
}

/** Everything that defines a confined process, derived from the handle (so exec == workload). */
export interface Confinement {
  netns: string;
  /** cgroup.procs files the process writes its pid to (one per v1 hierarchy, one on v2). */
  cgroupProcs: string[];
  uid: number;
  gid: number;
  hostname: string;
  /** Directory holding the generated passwd, group, hosts, resolv.conf, nsswitch.conf, hostname. */
  etcDir: string;
  /**
   * etcDir is the whole curated /etc (the host entries copied next to the generated files at create:
   * writeEtc), bound once. Without it (sandboxes of an older Airlock) etcDir has only the generated
   * files and every host entry is bound on its own.
   */
  etcComplete?: boolean;
  binds: Bind[];
  cwd: string;
  env: Record<string, string>;
  /**
   * The sandbox's BPF program file, if this architecture has one. spawnConfined takes it as "filter
   * on" and loads the current filters from memory instead (the notify variant, with the launcher in
   * front: see seccomp.ts); the file itself is the refuse-everything variant, for the gate.
   */
  seccompFile?: string;
  /**
   * The workload is root inside a user namespace whose uid/gid 0 are `uid`/`gid` (unsafe.runAsRoot).
   * `uid`/`gid` stay the host ids in either case.
   */
  rootInUserns?: boolean;
  /** Host path of the sandbox's private devpts instance (mounted with a small max=), bound at /dev/pts; without it there are no ptys. */
  devpts?: string;
  /** Host directory bound at /dev/shm (inside the sandbox tmpfs, so it is sized and charged with it). */
  shm?: string;
  /**
   * The tally file its denied-egress refusals are added to, whichever process starts it (the
   * workload's and every exec's: refusal-tally.ts); none for targets, whose refusals do not count.
   */
  refusalTally?: string;
}

/** Descriptors of a confined process: soft (what it gets) and hard (what it may raise the soft to). */
export const WORKLOAD_NOFILE = { soft: 1024, hard: 4096 };
/** Size cap of /dev (a tmpfs holding only device nodes and symlinks; the workload cannot write to it). Docker's value. */
const DEV_TMPFS_BYTES = 64 * 1024 * 1024;
/** The only devices a workload sees (besides its private ptys). */
export const DEV_NODES = ["null", "zero", "full", "random", "urandom", "tty"];
/** Parts of /proc that change the host kernel when written: always read-only (bwrap 0.8 skips its own cover when its writability test fails). */
const PROC_READ_ONLY = ["sys", "sysrq-trigger", "irq", "bus"];

/**
 * Host /etc entries a normal program needs (loader cache, TLS roots, time zone, protocol tables, shell
 * and Python configuration) — and nothing else of the host's /etc (no machine-id, no credentials, no
 * host names or service configuration).
 */
function hostEtcEntries(): string[] {
  const fixed = [
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "ssl", "ca-certificates", "ca-certificates.conf",
    "localtime", "timezone", "protocols", "services", "mime.types", "host.conf", "gai.conf", "profile", "bash.bashrc",
    "inputrc", "debian_version", "os-release",
  ];
  let python: string[] = [];
  try {
    python = fs.readdirSync("/etc").filter((e) => /^python3(\.\d+)?$/.test(e));
  } catch {
    /* no /etc listing: the fixed entries still apply */
  }
  return [...fixed, ...python];
}
/** Files Airlock generates per sandbox instead of exposing the host's. */
export const GENERATED_ETC = ["passwd", "group", "hosts", "resolv.conf", "nsswitch.conf", "hostname"];

export const BASE_PATH = "/usr/local/bin:/usr/bin:/bin";

/**
 * Builds the whole /etc of one confined principal (the workload, or the targets) in `dir`, once, at
 * create: a copy of each host entry on the list (as bwrap's per-file binds showed it: a top-level
 * symlink as what it points to, owner and mode kept) and the generated files. Every start then binds
 * this one directory read-only at /etc — one mount instead of ~27 single-file binds, which were half
 * of bubblewrap's mount setup on each exec (bench/inspect-exec-profile.ts). The copy is a snapshot:
 * a host change to these files (a new ld.so.cache, CA bundle) reaches sandboxes created after it.
 * It lives in the sandbox tmpfs beside home/ and work/ but is never bound writable, and is root-owned.
 */
export function writeEtc(dir: string, o: { user: string; uid: number; gid: number; home: string; hostname: string; hosts: [string, string[]][] }): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755); // (mkdir's mode is cut by the umask)
  for (const e of hostEtcEntries()) {
    const from = `/etc/${e}`;
    if (!fs.existsSync(from)) continue; // (as --ro-bind-try did: an entry this host lacks is not there)
    copyTree(from, path.join(dir, e), { keepOwner: true, followTop: true });
  }
  const files: Record<string, string> = {
    // (A root workload is the root line itself, with a login shell.)
    passwd: o.user === "root" ? `root:x:0:0:root:${o.home}:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n` : `root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n${o.user}:x:${o.uid}:${o.gid}::${o.home}:/bin/sh\n`,
    group: o.user === "root" ? "root:x:0:\nnogroup:x:65534:\n" : `root:x:0:\nnogroup:x:65534:\n${o.user}:x:${o.gid}:\n`,
    // Names resolve only from this file: exactly the allowed upstreams, at the gate. There is no DNS
    // server to ask, so DNS and the firewall cannot disagree (the Proxmox sandbox's lesson).
    hosts: ["127.0.0.1\tlocalhost", `127.0.1.1\t${o.hostname}`, ...o.hosts.map(([ip, names]) => `${ip}\t${names.join(" ")}`)].join("\n") + "\n",
    "resolv.conf": "# no DNS server is reachable from here; names are in /etc/hosts\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
    "nsswitch.conf": "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n",
    hostname: o.hostname + "\n",
  };
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text, { mode: 0o644 });
}

function tool(name: string): string {
  const p = findTool(name);
  if (!p) throw new HostToolMissing(name);
  return p;
}

/** /bin, /lib, ... are symlinks into /usr on merged-/usr systems (Debian 12) and directories elsewhere. */
function topLevelSystemDirs(): string[] {
  const out: string[] = [];
  for (const d of ["bin", "sbin", "lib", "lib32", "lib64", "libx32"]) {
    const p = `/${d}`;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) out.push("--symlink", fs.readlinkSync(p), p);
    else if (st.isDirectory()) out.push("--ro-bind", p, p);
  }
  return out;
}

export function bwrapArgs(c: Confinement, seccompFd?: number): string[] {
  const a = [
    "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
    "--die-with-parent", "--new-session",
    "--hostname", c.hostname,
    "--ro-bind", "/usr", "/usr",
    ...topLevelSystemDirs(),
    "--proc", "/proc",
  ];
  for (const p of PROC_READ_ONLY) a.push("--ro-bind-try", `/proc/${p}`, `/proc/${p}`);
  a.push(...devArgs(c));
  if (c.etcComplete) a.push("--ro-bind", c.etcDir, "/etc");
  else {
    a.push("--perms", "0755", "--dir", "/etc");
    for (const e of hostEtcEntries()) a.push("--ro-bind-try", `/etc/${e}`, `/etc/${e}`);
    for (const f of GENERATED_ETC) a.push("--ro-bind", path.join(c.etcDir, f), `/etc/${f}`);
  }
  a.push("--perms", "0755", "--dir", "/home", "--perms", "0755", "--dir", "/opt");
  for (const b of c.binds) a.push(b.writable ? "--bind" : "--ro-bind", b.src, b.dest);
  a.push("--chdir", c.cwd, "--clearenv");
  for (const [k, v] of Object.entries(c.env)) a.push("--setenv", k, v);
  if (seccompFd !== undefined) a.push("--seccomp", String(seccompFd));
  return a;
}

/**
 * /dev built by hand instead of bwrap's --dev, whose devpts has no `max=` (one sandbox could take
 * every pty the host's non-reserved pool has): a small tmpfs with the six devices a program expects,
 * the usual symlinks, the sandbox's own devpts instance (a small max, mounted by the owner) and /dev/shm
 * from the sandbox tmpfs.
 */
function devArgs(c: Confinement): string[] {
  const a = ["--perms", "0755", "--size", String(DEV_TMPFS_BYTES), "--tmpfs", "/dev"];
  for (const d of DEV_NODES) a.push("--dev-bind", `/dev/${d}`, `/dev/${d}`);
  a.push("--symlink", "/proc/self/fd", "/dev/fd");
  ["stdin", "stdout", "stderr"].forEach((n, i) => a.push("--symlink", `/proc/self/fd/${i}`, `/dev/${n}`));
  if (c.devpts) a.push("--dev-bind", c.devpts, "/dev/pts", "--symlink", "pts/ptmx", "/dev/ptmx");
  // (A sandbox made by an older Airlock has no shm directory in its tmpfs: /dev/shm is then a directory
  // of the small /dev tmpfs, whose pages are charged to the sandbox's memory like any other.)
  if (c.shm) a.push("--bind", c.shm, "/dev/shm");
  else a.push("--perms", "1777", "--dir", "/dev/shm");
  return a;
}

// The launcher (bash: dash cannot close descriptors above 9; --norc because bash sources ~/.bashrc
// when its stdin is a socket, and Node's stdio pipes are socketpairs). Arguments: the descriptors to
// keep, the uid that creates the workload's user namespace ("-" for none), the cgroup.procs files,
// "--", the command. It
//   1. for a root workload: creates a user namespace as that uid (uid/gid 0 inside = that uid), opens
//      it as descriptor 6 and lets its creator exit (the descriptor keeps the namespace);
//   2. closes every inherited descriptor except stdin/out/err and the ones listed — Node passes on
//      whatever descriptors *it* inherited without close-on-exec, and none of them may reach a
//      workload (a terminal, a socket, a caller's pipe);
//   3. sets the limits every confined process inherits and cannot raise: no core dumps (the host's
//      core_pattern must never see a sandbox's memory), and 1024 (soft) / 4096 (hard) descriptors —
//      each one can pin kernel memory, and the host's default here is 20000;
//   4. joins every listed cgroup, so the process is counted and limited before it can fork;
//   5. execs the rest of the command line.
// Arguments arrive as positional parameters: nothing is ever interpolated into shell syntax (eval only
// ever sees descriptor numbers).
const LAUNCHER = [
  'keep=" $1 "; nsuid=$2; shift 2',
  'if [ "$nsuid" != - ]; then',
  '  coproc NS { exec setpriv --reuid="$nsuid" --regid="$nsuid" --clear-groups -- unshare --user --map-root-user -- /bin/sh -c "echo; read _"; }',
  '  if ! read -r _ <&"${NS[0]}" || ! exec 6<"/proc/$NS_PID/ns/user"; then echo "airlock-launch: cannot create the user namespace of uid $nsuid" >&2; exit 125; fi',
  '  eval "exec ${NS[1]}>&- ${NS[0]}<&-"; wait "$NS_PID"; keep="$keep 6 "',
  'fi',
  'for p in /proc/$$/fd/*; do n=${p##*/}; case "$keep" in *" $n "*) continue;; esac; if [ "$n" -gt 2 ] && [ -L "$p" ]; then eval "exec $n>&-"; fi; done',
  `ulimit -c 0 && ulimit -n ${WORKLOAD_NOFILE.hard} && ulimit -S -n ${WORKLOAD_NOFILE.soft} || exit 125`,
  'for f do if [ "$f" = -- ]; then shift; break; fi; echo $$ > "$f" || exit 125; shift; done',
  'exec "$@"',
].join("\n");

// Inside bwrap (root, seccomp already loaded): reads "<uid> <gid> <mode>" from descriptor 5, closes it,
// and drops to the workload's identity — a plain uid, or uid 0 of the user namespace on descriptor 6
// (nsenter --user clears the supplementary groups and sets uid/gid 0 there; the inner sh closes 6).
const DROP = [
  'read -r uid gid mode <&5 || exit 125; exec 5<&-',
  'caps="--inh-caps=-all --ambient-caps=-all --bounding-set=-all --no-new-privs"',
  'if [ "$mode" = userns ]; then exec /usr/bin/nsenter --user=/proc/self/fd/6 -- /bin/sh -c \'exec 6<&-; exec "$@"\' sh /usr/bin/setpriv $caps -- "$@"; fi',
  'exec /usr/bin/setpriv --reuid "$uid" --regid "$gid" --clear-groups $caps -- "$@"',
].join("\n");

/** Descriptors handed to bwrap: the seccomp program, its options (read and closed by bwrap), the ids (read and closed by DROP). */
const SECCOMP_FD = 3;
const ARGS_FD = 4;
const IDS_FD = 5;
/** The socket-refusal reports (written by the launcher's responder only; the launcher closes it before anything else runs). */
export const REFUSALS_FD = 7;

/**
 * The full command line of a confined process. bwrap's options go through a descriptor (--args) and
 * the ids through another: inside the sandbox, /proc/1/cmdline is then "bwrap --args 4 -- /bin/sh -c
 * <DROP> sh <command>" and names no host path (the state directory would say "airlock") and no uid.
 */
export function confinedCommand(c: Confinement, command: string[], withSeccomp: boolean, viaBashLauncher = false): { argv: string[]; bwrapOptions: string[]; ids: string } {
  const keepFds = [...(withSeccomp ? [SECCOMP_FD] : []), ARGS_FD, IDS_FD];
  const inside = [tool("bwrap"), "--args", String(ARGS_FD), "--", "/bin/sh", "-c", DROP, "sh", ...command];
  // The notify launcher does the bash launcher's and nsenter's steps itself (--launch: descriptors,
  // limits, cgroups, network namespace, in the same order; seccomp-notify.c), two execs fewer per
  // start. The bash launcher stays where that launcher is not used (no seccomp on this architecture)
  // and for a root workload, whose user namespace it creates first.
  const direct = withSeccomp && !c.rootInUserns && !viaBashLauncher;
  const argv = direct
    ? [notifyLauncher(), String(REFUSALS_FD), notifyFilterHex(), "--launch", keepFds.join(","), String(WORKLOAD_NOFILE.soft), String(WORKLOAD_NOFILE.hard), netnsPath(c.netns), ...c.cgroupProcs, "--", ...inside]
    : [
        ...(withSeccomp ? [notifyLauncher(), String(REFUSALS_FD), notifyFilterHex()] : []),
        "/bin/bash", "--norc", "--noprofile", "-c", LAUNCHER, "airlock-launch", keepFds.join(" "), c.rootInUserns ? String(c.uid) : "-", ...c.cgroupProcs, "--",
        tool("nsenter"), `--net=${netnsPath(c.netns)}`, "--",
        ...inside,
      ];
  return { argv, bwrapOptions: bwrapArgs(c, withSeccomp ? SECCOMP_FD : undefined), ids: `${c.uid} ${c.gid} ${c.rootInUserns ? "userns" : "uid"}\n` };
}

let filters: { bwrap: Buffer; notifyHex: string } | undefined;
/** Both filters, assembled once per process: bubblewrap's (sockets left to the launcher) and the launcher's. */
function seccompFilters() {
  filters ??= { bwrap: workloadSeccompFilter(undefined, "notify"), notifyHex: socketNotifyFilter().toString("hex") };
  return filters;
}
const notifyFilterHex = () => seccompFilters().notifyHex;

export interface ConfinedSpawnOptions {
  /** "pipe" to write to it, "ignore" for /dev/null. */
  stdin?: "pipe" | "ignore";
  /** Each refused socket()/socketpair() (the egress ones are also added to the confinement's tally). */
  onSocketRefused?: (r: SocketRefusal) => void;
  /** The tally could not be written (those refusals do not reach the kill rule): called once per start. */
  onTallyError?: (e: Error) => void;
  /** The bash launcher and nsenter even where the notify launcher would do their steps (bench/inspect-exec-profile.ts compares the two). */
  viaBashLauncher?: boolean;
}

/**
 * Reads the responder's lines (always, so it never blocks on a full pipe), adds the egress ones to
 * the tally (one write per chunk read) and passes each refusal on.
 */
function followRefusals(stream: Readable, tally: string | undefined, opts: ConfinedSpawnOptions): void {
  let partial = "";
  let tallyFailed = false;
  stream.setEncoding("latin1");
  stream.on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    const refusals = lines.map(parseRefusal).filter((r): r is SocketRefusal => !!r);
    const egress = refusals.filter((r) => r.egress).length;
    if (tally && egress > 0 && !tallyFailed) {
      try {
        addToRefusalTally(tally, egress);
      } catch (e) {
        tallyFailed = true;
        opts.onTallyError?.(e as Error);
      }
    }
    for (const r of refusals) opts.onSocketRefused?.(r);
  });
  stream.on("error", () => undefined);
}

/**
 * Starts a confined command. Its stdout/stderr are pipes; it is in its own session (terminal signals
 * reach only Airlock, which tears down in order) and dies with this process (--die-with-parent).
 */
export function spawnConfined(c: Confinement, command: string[], opts: ConfinedSpawnOptions = {}): ChildProcess {
  const withSeccomp = !!c.seccompFile;
  const { argv, bwrapOptions, ids } = confinedCommand(c, command, withSeccomp, opts.viaBashLauncher);
  // (bubblewrap's filter through a pipe: the variant that leaves socket families to the launcher is
  // never a file anything else could load without the launcher.)
  const stdio: StdioOptions = [opts.stdin ?? "ignore", "pipe", "pipe", withSeccomp ? "pipe" : "ignore", "pipe", "pipe", "ignore", withSeccomp ? "pipe" : "ignore"];
  const child = spawn(argv[0], argv.slice(1), { stdio, detached: true, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
  // The launcher may fail before bwrap or DROP read these (that is reported by its exit status).
  const feed = (fd: number, data: string | Buffer) => {
    const w = child.stdio[fd] as NodeJS.WritableStream | null;
    w?.on("error", () => undefined);
    w?.end(data);
  };
  if (withSeccomp) {
    feed(SECCOMP_FD, seccompFilters().bwrap);
    followRefusals((child.stdio as unknown as Readable[])[REFUSALS_FD], c.refusalTally, opts);
  }
  feed(ARGS_FD, Buffer.from(bwrapOptions.map((a) => a + "\0").join("")));
  feed(IDS_FD, ids);
  return child;
}
