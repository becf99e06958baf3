// How a process is put inside a sandbox — the workload, each `sandbox exec`, and each target:
//
//   bash launcher (closes inherited descriptors,     the process is in the cgroup before it can fork
//   joins the cgroup, then execs)
//   nsenter --net=/run/netns/<sandbox>               joins the boundary namespace (no default route)
//   bwrap                                            new pid/ipc/uts/mount/cgroup namespaces, read-only
//                                                    /usr and a curated /etc, private /tmp and work dir,
//                                                    --die-with-parent, --new-session, seccomp filter
//   setpriv --reuid <uid> ... --no-new-privs         a non-root uid, every capability and the bounding
//                                                    set dropped, no new privileges
//   <command>
//
// bubblewrap runs as root without a user namespace: the workload then has a real, unprivileged uid
// on the host (files it writes are owned by that uid, not by a mapped root), and setpriv drops root
// as the last step. The environment is built from scratch — nothing tells the workload it runs
// under Airlock (Vivaria#1121: agents detect evaluations from their environment).
import * as fs from "fs";
import * as path from "path";
import { spawn, ChildProcess, StdioOptions } from "child_process";
import { findTool, HostToolMissing } from "../host/exec";
import { netnsPath } from "./netns";

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
  binds: Bind[];
  cwd: string;
  env: Record<string, string>;
  /** BPF program file for --seccomp, if this architecture has one. */
  seccompFile?: string;
}

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

/** Writes the generated /etc files for one confined principal (the workload, or the targets). */
export function writeEtc(dir: string, o: { user: string; uid: number; gid: number; home: string; hostname: string; hosts: [string, string[]][] }): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const files: Record<string, string> = {
    passwd: `root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n${o.user}:x:${o.uid}:${o.gid}::${o.home}:/bin/sh\n`,
    group: `root:x:0:\nnogroup:x:65534:\n${o.user}:x:${o.gid}:\n`,
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
    "--dev", "/dev",
    "--perms", "0755", "--dir", "/etc",
  ];
  for (const e of hostEtcEntries()) a.push("--ro-bind-try", `/etc/${e}`, `/etc/${e}`);
  for (const f of GENERATED_ETC) a.push("--ro-bind", path.join(c.etcDir, f), `/etc/${f}`);
  a.push("--perms", "0755", "--dir", "/home", "--perms", "0755", "--dir", "/opt");
  for (const b of c.binds) a.push(b.writable ? "--bind" : "--ro-bind", b.src, b.dest);
  a.push("--chdir", c.cwd, "--clearenv");
  for (const [k, v] of Object.entries(c.env)) a.push("--setenv", k, v);
  if (seccompFd !== undefined) a.push("--seccomp", String(seccompFd));
  return a;
}

/** Drops to the workload uid: no supplementary groups, no capabilities (also not inheritable, ambient or in the bounding set), no new privileges. */
export function dropPrivileges(c: Pick<Confinement, "uid" | "gid">): string[] {
  return ["/usr/bin/setpriv", "--reuid", String(c.uid), "--regid", String(c.gid), "--clear-groups", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"];
}

// The launcher (bash: dash cannot close descriptors above 9; --norc because bash sources ~/.bashrc
// when its stdin is a socket, and Node's stdio pipes are socketpairs):
//   1. closes every inherited descriptor except stdin/out/err and the ones listed in $1 (the seccomp
//      program, bwrap's options) — Node passes on whatever descriptors *it* inherited without
//      close-on-exec, and none of them may reach a workload (a terminal, a socket, a caller's pipe);
//   2. joins every listed cgroup, so the process is counted and limited before it can fork;
//   3. execs the rest of the command line ("--" separates).
// Arguments arrive as positional parameters: nothing is ever interpolated into shell syntax (the
// one eval sees only a descriptor number read from /proc).
const LAUNCHER = [
  'keep=" $1 "; shift',
  'for p in /proc/$$/fd/*; do n=${p##*/}; case "$keep" in *" $n "*) continue;; esac; if [ "$n" -gt 2 ] && [ -L "$p" ]; then eval "exec $n>&-"; fi; done',
  'for f do if [ "$f" = -- ]; then shift; break; fi; echo $$ > "$f" || exit 125; shift; done',
  'exec "$@"',
].join("\n");

/** Descriptors handed to bwrap: the seccomp program, and its options (read and closed by bwrap). */
const SECCOMP_FD = 3;
const ARGS_FD = 4;

/**
 * The full command line of a confined process. bwrap's options go through a descriptor (--args):
 * inside the sandbox, /proc/1/cmdline is then "bwrap --args 4 -- setpriv ... <command>" and names no
 * host path (the state directory would say "airlock").
 */
export function confinedCommand(c: Confinement, command: string[], withSeccomp: boolean): { argv: string[]; bwrapOptions: string[] } {
  const argv = [
    "/bin/bash", "--norc", "--noprofile", "-c", LAUNCHER, "airlock-launch", withSeccomp ? `${SECCOMP_FD} ${ARGS_FD}` : `${ARGS_FD}`, ...c.cgroupProcs, "--",
    tool("nsenter"), `--net=${netnsPath(c.netns)}`, "--",
    tool("bwrap"), "--args", String(ARGS_FD), "--",
    ...dropPrivileges(c), ...command,
  ];
  return { argv, bwrapOptions: bwrapArgs(c, withSeccomp ? SECCOMP_FD : undefined) };
}

export interface ConfinedSpawnOptions {
  /** "pipe" to write to it, "ignore" for /dev/null. */
  stdin?: "pipe" | "ignore";
}

/**
 * Starts a confined command. Its stdout/stderr are pipes; it is in its own session (terminal signals
 * reach only Airlock, which tears down in order) and dies with this process (--die-with-parent).
 */
export function spawnConfined(c: Confinement, command: string[], opts: ConfinedSpawnOptions = {}): ChildProcess {
  const { argv, bwrapOptions } = confinedCommand(c, command, !!c.seccompFile);
  const seccompFd = c.seccompFile ? fs.openSync(c.seccompFile, "r") : undefined;
  try {
    const stdio: StdioOptions = [opts.stdin ?? "ignore", "pipe", "pipe", seccompFd ?? "ignore", "pipe"];
    const child = spawn(argv[0], argv.slice(1), { stdio, detached: true, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
    const args = child.stdio[ARGS_FD] as NodeJS.WritableStream | null;
    args?.on("error", () => undefined); // the launcher may fail before bwrap reads (reported by its exit)
    args?.end(Buffer.from(bwrapOptions.map((a) => a + "\0").join("")));
    return child;
  } finally {
    if (seccompFd !== undefined) fs.closeSync(seccompFd);
  }
}
