// How the egress gate (Toxiproxy) is confined. The gate is the one process the workload talks to, so
// it gets the same treatment as the workload wherever the gate's job allows it:
//
//   /bin/sh (root)        joins the gate's own cgroup (memory and pids limits) before anything
//                         else runs, so it is counted and limited before it can start a thread
//   setpriv               a leased uid/gid of its own (not the workload's, not root), no groups,
//                         every capability and the bounding set dropped, no_new_privs
//   python3 (gate uid)    PR_SET_PDEATHSIG=SIGKILL — set *after* the uid change, because the kernel
//                         clears the parent-death signal on every credential change (setpriv's own
//                         --pdeathsig is set before it changes uid, and is lost: measured here) —
//                         then exits if the owner is already gone (the fork-to-prctl window); loads
//                         the workload's seccomp filter (networking is within it: AF_INET/INET6/UNIX);
//                         closes every inherited descriptor; execs the server as airlock-gate-<id>
//   toxiproxy-server      with an environment of its own (PATH, LOG_LEVEL: nothing of the owner's)
//
// What it may reach is not left to it: host nftables rules match its uid (`meta skuid`, see
// nft.ts gateEgressRules) and let it open connections only to the spec's upstreams, nothing else.
// It stays in the host's network namespace because its admin API must be on the host's loopback (the
// chaos runner drives it) and because `via: address` upstreams may be host-loopback services.
//
// A non-root process cannot bind a port below net.ipv4.ip_unprivileged_port_start. A listener the
// workload reaches on such a port (e.g. 443) is therefore bound by the gate on a free high port, and
// the host's nftables translate the workload's port to it (gateDnatRules); the workload, the chaos
// runner and the record keep seeing the listen port of the spec.
import * as fs from "fs";
import { findTool, HostToolMissing } from "../host/exec";

/**
 * The gate's cgroup limits: a connection flood or a leak inside Toxiproxy cannot take the host's memory
 * or pids. No CPU quota: a throttled gate would add up to a CFS period (100 ms) to the latencies the
 * chaos runner measures through it; its CPU is accounted in its cgroup.
 */
export const GATE_LIMITS = { memoryBytes: 128 * 1024 ** 2, pids: 128 };

/** Descriptor the seccomp program reaches the gate's python step on (read and closed there). */
export const GATE_SECCOMP_FD = 3;

// argv: owner pid, argv0 for the server, seccomp descriptor or "-", the server's argv.
const GATE_EXEC = String.raw`
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
def prctl(op, a=0, b=0, c=0, d=0):
    if libc.prctl(op, a, b, c, d) != 0:
        sys.stderr.write("airlock-gate: prctl(%d): %s\n" % (op, os.strerror(ctypes.get_errno()))); sys.exit(125)
owner, argv0, sfd, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
prctl(1, 9)                             # PR_SET_PDEATHSIG, SIGKILL (after the uid change: kept)
if os.getppid() != owner: sys.exit(125)   # the owner died before the line above: nobody to serve
prctl(38, 1)                            # PR_SET_NO_NEW_PRIVS (setpriv set it too; needed for seccomp)
if sfd != "-":
    fd = int(sfd); data = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk: break
        data += chunk
    os.close(fd)
    if not data or len(data) % 8: sys.stderr.write("airlock-gate: bad seccomp program\n"); sys.exit(125)
    buf = ctypes.create_string_buffer(data, len(data))
    class Prog(ctypes.Structure): _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
    prog = Prog(len(data) // 8, ctypes.cast(buf, ctypes.c_void_p).value)
    prctl(22, 2, ctypes.addressof(prog))    # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
os.closerange(3, 65536)
os.execve(cmd[0], [argv0] + cmd[1:], {"PATH": "/usr/bin:/bin", "LOG_LEVEL": os.environ.get("LOG_LEVEL", "error")})
`;

// Root step: join every cgroup.procs file given before "--", then exec the rest.
const GATE_JOIN = 'for f do shift; if [ "$f" = -- ]; then break; fi; echo $$ > "$f" || { echo "airlock-gate: cannot join $f" >&2; exit 125; }; done; exec "$@"';

function tool(name: string): string {
  const p = findTool(name);
  if (!p) throw new HostToolMissing(name);
  return p;
}

/** A python the gate's uid can run: the system's (a root user's pyenv shims under /root are not readable by other uids). */
function systemPython(): string {
  for (const p of ["/usr/bin/python3", "/bin/python3"]) if (fs.existsSync(p)) return p;
  return tool("python3");
}

export interface GateConfinement {
  uid: number;
  /** cgroup.procs files of the gate's cgroup (one per v1 hierarchy, one on v2). */
  cgroupProcs: string[];
  /** The workload's seccomp program (absent where the architecture has none). */
  seccompFile?: string;
  /** argv[0] of the running server (airlock-gate-<id>), which the sweeper and `ps` read. */
  argv0: string;
  /** The process that must outlive the gate (this process). */
  ownerPid?: number;
}

/** The full command line that runs `serverArgv` confined, plus the descriptor table to spawn it with. */
export function confinedGateCommand(c: GateConfinement, serverArgv: string[]): { file: string; args: string[]; seccompFd?: number } {
  const setpriv = [
    tool("setpriv"), `--reuid=${c.uid}`, `--regid=${c.uid}`, "--clear-groups",
    "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
  ];
  const seccompFd = c.seccompFile ? fs.openSync(c.seccompFile, "r") : undefined;
  const args = [
    "-c", GATE_JOIN, c.argv0, ...c.cgroupProcs, "--",
    ...setpriv,
    systemPython(), "-I", "-S", "-c", GATE_EXEC, String(c.ownerPid ?? process.pid), c.argv0, seccompFd === undefined ? "-" : String(GATE_SECCOMP_FD),
    ...serverArgv,
  ];
  return { file: "/bin/sh", args, seccompFd };
}

/** The lowest port a non-root process may bind in the host's network namespace. */
export function unprivilegedPortStart(): number {
  try {
    return Number(fs.readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8").trim());
  } catch {
    return 1024;
  }
}
