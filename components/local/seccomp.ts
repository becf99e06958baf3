// The workload's seccomp filter (classic BPF, loaded by bubblewrap with --seccomp FD).
//
// Dropping every capability and setting no_new_privs still leaves a non-root process able to create
// a *user* namespace, in which it holds every capability again — the most common road from an
// unprivileged process to a kernel bug. So the filter refuses, with EPERM:
//   - new user namespaces (unshare/clone with CLONE_NEWUSER); clone3 gets ENOSYS, because its flags
//     sit in memory a BPF filter cannot read — libc then falls back to clone (as Docker does);
//   - kernel interfaces a workload has no business with and that are frequent exploit vectors:
//     keyrings, bpf, userfaultfd, perf events, io_uring, kernel modules, kexec;
//   - other architectures' system call tables (x32 on x86-64), so nothing can slip past by number.
// Everything else is allowed: the filter narrows the kernel surface; the namespaces, the missing
// route, nftables and the cgroup are the boundary.
import * as os from "os";

const BPF = { LD_W_ABS: 0x20, JEQ_K: 0x15, JGE_K: 0x35, JSET_K: 0x45, RET_K: 0x06 };
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = (errno: number) => 0x00050000 | errno;
const RET_KILL_PROCESS = 0x80000000;
const EPERM = 1;
const ENOSYS = 38;
const CLONE_NEWUSER = 0x10000000;
const OFFSET = { nr: 0, arch: 4, arg0Low: 16 };

interface ArchTable {
  audit: number;
  /** Syscall numbers at or above this are another ABI on the same arch (x32); refused. */
  foreignAbove?: number;
  unshare: number;
  clone: number;
  clone3: number;
  denied: Record<string, number>;
}

const ARCHES: Record<string, ArchTable> = {
  x64: {
    audit: 0xc000003e,
    foreignAbove: 0x40000000,
    unshare: 272,
    clone: 56,
    clone3: 435,
    denied: { add_key: 248, request_key: 249, keyctl: 250, bpf: 321, userfaultfd: 323, perf_event_open: 298, io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427, init_module: 175, finit_module: 313, delete_module: 176, kexec_load: 246, kexec_file_load: 320 },
  },
  arm64: {
    audit: 0xc00000b7,
    unshare: 97,
    clone: 220,
    clone3: 435,
    denied: { add_key: 217, request_key: 218, keyctl: 219, bpf: 280, userfaultfd: 282, perf_event_open: 241, io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427, init_module: 105, finit_module: 273, delete_module: 106, kexec_load: 104, kexec_file_load: 294 },
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

/** The filter for this host's architecture, as bytes for `bwrap --seccomp`. */
export function workloadSeccompFilter(arch = os.arch()): Buffer {
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
  for (const nr of Object.values(a.denied)) ins(BPF.JEQ_K, nr, "eperm", 0);
  ins(BPF.RET_K, RET_ALLOW);
  // unshare(flags) and clone(flags, ...) both take the flags in the first argument.
  ins(BPF.LD_W_ABS, OFFSET.arg0Low, 0, 0, "check_newuser");
  ins(BPF.JSET_K, CLONE_NEWUSER, "eperm", 0);
  ins(BPF.RET_K, RET_ALLOW);
  ins(BPF.RET_K, RET_ERRNO(ENOSYS), 0, 0, "enosys");
  ins(BPF.RET_K, RET_ERRNO(EPERM), 0, 0, "eperm");
  return assemble(p);
}
