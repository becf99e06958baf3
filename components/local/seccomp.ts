// The workload's seccomp filter (classic BPF, loaded by bubblewrap with --seccomp FD).
//
// Dropping every capability and setting no_new_privs still leaves a non-root process able to create
// a *user* namespace, in which it holds every capability again — the most common road from an
// unprivileged process to a kernel bug. So the filter refuses, with EPERM:
//   - new user namespaces (unshare/clone with CLONE_NEWUSER); clone3 gets ENOSYS, because its flags
//     sit in memory a BPF filter cannot read — libc then falls back to clone (as Docker does);
//   - kernel interfaces a workload has no business with and that are frequent exploit vectors:
//     keyrings, bpf, userfaultfd, perf events, io_uring, kernel modules, kexec, modify_ldt (x86's
//     per-process descriptor tables), move_pages/migrate_pages (they act on *other* processes' pages);
//   - personality() with anything but the values a normal runtime uses (Docker's list: 0, PER_LINUX32,
//     UNAME26, both, and the 0xffffffff query) — ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC and
//     MMAP_PAGE_ZERO only ever help an exploit;
//   - other architectures' system call tables (x32 on x86-64), so nothing can slip past by number.
//
// Socket families. A network namespace isolates only the families that are namespaced. AF_VSOCK is
// not: on a VM host with a vsock device (Firecracker, QEMU, many cloud VMs) its port space is the
// host's, past the missing route, nftables and the gate. socket() and socketpair() are therefore
// allowed only for AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK with protocol NETLINK_ROUTE; any other
// family fails with EAFNOSUPPORT (what a kernel without that family says), any other netlink protocol
// with EPROTONOSUPPORT. NETLINK_ROUTE stays because ordinary runtimes need it: glibc's getifaddrs()
// (Node's os.networkInterfaces(), Python's socket.if_nameindex(), `ip addr`) and getaddrinfo's
// AI_ADDRCONFIG speak it; it only shows the sandbox's own namespace, and changing anything there needs
// CAP_NET_ADMIN, which the workload lacks. (NETLINK_KOBJECT_UEVENT, for one, would show host device
// events.) 32-bit socketcall() cannot bypass this: every foreign-ABI call is refused or killed first.
//
// Every refused attempt is counted. A filter returning ERRNO tells nobody, so the socket-family
// verdict is a second filter of its own, installed by a tiny compiled launcher
// (notify/seccomp-notify.c) in front of every confined process start: it returns
// SECCOMP_RET_USER_NOTIF for the refused families, and a responder outside the sandbox (forked before
// the filter, so never filtered itself, and dead with the confined tree) answers each notification
// with the same errors as above — never "continue" — and reports (syscall, family, type, protocol,
// pid, comm) to the process that started it, which records it (process-run.ts, socket-refusals.ts).
// The listener descriptor never enters the sandbox (a process holding it could continue its own
// refused calls); a responder that is gone makes the kernel fail the call with ENOSYS: still refused.
// Filter precedence across stacked filters is KILL > TRAP > ERRNO > USER_NOTIF > ... > ALLOW, so
// bubblewrap's filter must *allow* socket()/socketpair() for the notification to happen: that
// variant (`workloadSeccompFilter(arch, "notify")`) exists only in memory and only confine.ts's
// spawnConfined hands it to bubblewrap, in the same command line that puts the launcher first. Every
// other user of a filter file (the gate) gets the "refuse" variant, which keeps the ERRNO verdicts:
// no path loads the permissive variant without the launcher. (A workload cannot stack a listener of
// its own: the kernel allows one per filter tree, and it would not outrank ours anyway.)
// The alternatives were worse: SECCOMP_RET_LOG allows the call; ERRNO results reach the audit log only
// with SECCOMP_FILTER_FLAG_LOG, and the audit/printk stream is host-wide, rate-limited and floodable by
// the very workload it would watch.
//
// Everything else is allowed: the filter narrows the kernel surface; the namespaces, the missing
// route, nftables and the cgroup are the boundary.
import * as os from "os";

const BPF = { LD_W_ABS: 0x20, JEQ_K: 0x15, JGE_K: 0x35, JSET_K: 0x45, RET_K: 0x06 };
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = (errno: number) => 0x00050000 | errno;
const RET_KILL_PROCESS = 0x80000000;
const RET_USER_NOTIF = 0x7fc00000;
const EPERM = 1;
const ENOSYS = 38;
const EPROTONOSUPPORT = 93;
const EAFNOSUPPORT = 97;
const CLONE_NEWUSER = 0x10000000;
/** seccomp_data: nr, arch, instruction pointer, then six 64-bit arguments (low word first on LE). */
const OFFSET = { nr: 0, arch: 4, arg0Low: 16, arg2Low: 32 };

/** Families socket()/socketpair() may create (everything else: EAFNOSUPPORT). */
export const ALLOWED_SOCKET_FAMILIES = { AF_UNIX: 1, AF_INET: 2, AF_INET6: 10 } as const;
const AF_NETLINK = 16;
const NETLINK_ROUTE = 0;
/** personality() values a normal runtime uses (as Docker's default profile): PER_LINUX, PER_LINUX32, UNAME26, both, and the query. */
export const ALLOWED_PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

/** What the record says about socket families. */
export function socketPolicy() {
  return {
    allowed: ["AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK (NETLINK_ROUTE only)"],
    refused: "every other family with EAFNOSUPPORT (other netlink protocols with EPROTONOSUPPORT)",
    attemptsCounted: true,
    how: "a seccomp user-notification filter per confined process start; a responder outside the sandbox refuses each call and reports it: one `socket-refused` record entry per attempt (the first 100 per process start, then a count in `socket-refused-summary`); transport families also count as denied egress for the kill rule",
  };
}

interface ArchTable {
  audit: number;
  /** Syscall numbers at or above this are another ABI on the same arch (x32); refused. */
  foreignAbove?: number;
  unshare: number;
  clone: number;
  clone3: number;
  socket: number;
  socketpair: number;
  personality: number;
  denied: Record<string, number>;
}

const ARCHES: Record<string, ArchTable> = {
  x64: {
    audit: 0xc000003e,
    foreignAbove: 0x40000000,
    unshare: 272,
    clone: 56,
    clone3: 435,
    socket: 41,
    socketpair: 53,
    personality: 135,
    denied: {
      add_key: 248, request_key: 249, keyctl: 250, bpf: 321, userfaultfd: 323, perf_event_open: 298, io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427,
      init_module: 175, finit_module: 313, delete_module: 176, kexec_load: 246, kexec_file_load: 320, modify_ldt: 154, move_pages: 279, migrate_pages: 256,
    },
  },
  arm64: {
    audit: 0xc00000b7,
    unshare: 97,
    clone: 220,
    clone3: 435,
    socket: 198,
    socketpair: 199,
    personality: 92,
    // (arm64 has no modify_ldt.)
    denied: {
      add_key: 217, request_key: 218, keyctl: 219, bpf: 280, userfaultfd: 282, perf_event_open: 241, io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427,
      init_module: 105, finit_module: 273, delete_module: 106, kexec_load: 104, kexec_file_load: 294, move_pages: 239, migrate_pages: 238,
    },
  },
};

/** The architectures this filter knows; elsewhere the workload runs without it (recorded). */
export function seccompSupported(arch = os.arch()): boolean {
  return arch in ARCHES;
}

type Insn = { code: number; jt: number | string; jf: number | string; k: number; label?: string };

/** A tiny assembler: jumps may name a label; labels resolve to forward offsets. */
function assemble(prog: Insn[]): Buffer {
  const at = new Map<string, number>();
  prog.forEach((ins, i) => ins.label && at.set(ins.label, i));
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach((ins, i) => {
    const off = (j: number | string) => {
      if (typeof j === "number") return j;
      const target = at.get(j);
      if (target === undefined || target <= i || target - i - 1 > 255) throw new Error(`bad BPF jump to ${j}`);
      return target - i - 1;
    };
    buf.writeUInt16LE(ins.code, i * 8);
    buf.writeUInt8(off(ins.jt), i * 8 + 2);
    buf.writeUInt8(off(ins.jf), i * 8 + 3);
    buf.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  return buf;
}

/**
 * How bubblewrap's filter treats socket families: "refuse" decides them itself (ERRNO); "notify" lets
 * socket()/socketpair() through to the launcher's notification filter (socketNotifyFilter), which
 * must then be in force — only spawnConfined uses it, never from a file.
 */
export type SocketVerdict = "refuse" | "notify";

/** The filter for this host's architecture, as bytes for `bwrap --seccomp`. */
export function workloadSeccompFilter(arch = os.arch(), sockets: SocketVerdict = "refuse"): Buffer {
  const a = ARCHES[arch];
  if (!a) throw new Error(`no seccomp filter for architecture '${arch}'`);
  const p: Insn[] = [];
  const ins = (code: number, k: number, jt: number | string = 0, jf: number | string = 0, label?: string) => p.push({ code, k, jt, jf, label });
  ins(BPF.LD_W_ABS, OFFSET.arch);
  ins(BPF.JEQ_K, a.audit, 1, 0);
  ins(BPF.RET_K, RET_KILL_PROCESS); // a foreign architecture's calling convention
  ins(BPF.LD_W_ABS, OFFSET.nr);
  if (a.foreignAbove) ins(BPF.JGE_K, a.foreignAbove, "eperm", 0);
  ins(BPF.JEQ_K, a.clone3, "enosys", 0);
  ins(BPF.JEQ_K, a.unshare, "check_newuser", 0);
  ins(BPF.JEQ_K, a.clone, "check_newuser", 0);
  if (sockets === "refuse") {
    ins(BPF.JEQ_K, a.socket, "check_family", 0);
    ins(BPF.JEQ_K, a.socketpair, "check_family", 0);
  }
  ins(BPF.JEQ_K, a.personality, "check_personality", 0);
  for (const nr of Object.values(a.denied)) ins(BPF.JEQ_K, nr, "eperm", 0);
  ins(BPF.RET_K, RET_ALLOW); // not a call the filter looks at
  // unshare(flags) and clone(flags, ...) both take the flags in the first argument.
  ins(BPF.LD_W_ABS, OFFSET.arg0Low, 0, 0, "check_newuser");
  ins(BPF.JSET_K, CLONE_NEWUSER, "eperm", "allow");
  if (sockets === "refuse") familyCheck(ins, RET_ERRNO(EAFNOSUPPORT), RET_ERRNO(EPROTONOSUPPORT));
  ins(BPF.LD_W_ABS, OFFSET.arg0Low, 0, 0, "check_personality");
  for (const v of ALLOWED_PERSONALITIES) ins(BPF.JEQ_K, v, "allow", 0);
  ins(BPF.RET_K, RET_ERRNO(EPERM));
  // The verdicts (BPF jumps go forward only, so they come last).
  ins(BPF.RET_K, RET_ALLOW, 0, 0, "allow");
  ins(BPF.RET_K, RET_ERRNO(ENOSYS), 0, 0, "enosys");
  ins(BPF.RET_K, RET_ERRNO(EPERM), 0, 0, "eperm");
  return assemble(p);
}

type Emit = (code: number, k: number, jt?: number | string, jf?: number | string, label?: string) => void;

/**
 * socket(family, type, protocol) and socketpair(family, type, protocol, sv): the family is an int.
 * Allowed families jump to "allow"; another family returns `refused`, another netlink protocol
 * `otherNetlink`. One check for both filters, so the two can never disagree about a family.
 */
function familyCheck(ins: Emit, refused: number, otherNetlink: number): void {
  ins(BPF.LD_W_ABS, OFFSET.arg0Low, 0, 0, "check_family");
  for (const family of Object.values(ALLOWED_SOCKET_FAMILIES)) ins(BPF.JEQ_K, family, "allow", 0);
  ins(BPF.JEQ_K, AF_NETLINK, 1, 0);
  ins(BPF.RET_K, refused);
  ins(BPF.LD_W_ABS, OFFSET.arg2Low);
  ins(BPF.JEQ_K, NETLINK_ROUTE, "allow", 0);
  ins(BPF.RET_K, otherNetlink);
}

/**
 * The launcher's filter (notify/seccomp-notify.c): socket()/socketpair() of a refused family (or
 * another netlink protocol) go to its responder; everything else is allowed here and left to
 * bubblewrap's filter (a foreign architecture, x32 numbers: that filter kills or refuses them).
 */
export function socketNotifyFilter(arch = os.arch()): Buffer {
  const a = ARCHES[arch];
  if (!a) throw new Error(`no seccomp filter for architecture '${arch}'`);
  const p: Insn[] = [];
  const ins: Emit = (code, k, jt = 0, jf = 0, label) => void p.push({ code, k, jt, jf, label });
  ins(BPF.LD_W_ABS, OFFSET.arch);
  ins(BPF.JEQ_K, a.audit, 0, "allow");
  ins(BPF.LD_W_ABS, OFFSET.nr);
  ins(BPF.JEQ_K, a.socket, "check_family", 0);
  ins(BPF.JEQ_K, a.socketpair, "check_family", "allow");
  familyCheck(ins, RET_USER_NOTIF, RET_USER_NOTIF);
  ins(BPF.RET_K, RET_ALLOW, 0, 0, "allow");
  return assemble(p);
}

/** The syscall names the launcher reports, by number on this architecture. */
export function socketSyscallName(nr: number, arch = os.arch()): string {
  const a = ARCHES[arch];
  return a?.socket === nr ? "socket" : a?.socketpair === nr ? "socketpair" : `syscall ${nr}`;
}
