// Where a local sandbox lives on the host (all under the state dir, 0700 root, never mounted into a
// sandbox as a whole):
//
//   <state>/sandboxes/<id>/handle.json      the contract read by the CLI, chaos runner and sweeper
//   <state>/sandboxes/<id>/seccomp.bpf      the workload's seccomp filter
//   <state>/sandboxes/<id>/gate.log(.1)     Toxiproxy's errors, capped and rotated by the owner
//   <state>/sandboxes/<id>/socket-refusals.tally  refused socket calls counted as denied egress, one
//                                           byte each, appended by any process's starts (refusal-tally.ts)
//   <state>/sandboxes/<id>/pts/             the sandbox's private devpts instance (small max=)
//   <state>/sandboxes/<id>/fs/              a tmpfs (size = min(workload.disk, workload.memory)): home/,
//                                           work/, tmp/, shm/ and each target's own svc-<name>/ — the
//                                           only writable places — etc/ (generated passwd, group, hosts,
//                                           resolv.conf; root-owned, bound read-only) and task/ (a copy
//                                           of the task files, bound read-only). Everything the sandbox
//                                           sees comes from this tmpfs, /usr and /etc: its mount table
//                                           (/proc/self/mountinfo) shows no host path at all.
//   <state>/records/<id>.jsonl              the hash-chained record; kept after the sandbox is gone
import * as path from "path";
import { stateDir } from "../host/state";
import { sandboxesDir } from "./handle";

export interface SandboxLayout {
  dir: string;
  etcDir: string;
  seccompFile: string;
  gateLog: string;
  devpts: string;
  fsRoot: string;
  shm: string;
  task: string;
  home: string;
  work: string;
  tmp: string;
  record: string;
}

/** `root`: another state directory's (a sweep sealing the record of a sandbox it recovered for it). */
export function recordsDir(root = stateDir()): string {
  return path.join(root, "records");
}

export function sandboxLayout(id: string): SandboxLayout {
  const dir = path.join(sandboxesDir(), id);
  const fsRoot = path.join(dir, "fs");
  return {
    dir,
    etcDir: path.join(fsRoot, "etc"),
    seccompFile: path.join(dir, "seccomp.bpf"),
    gateLog: path.join(dir, "gate.log"),
    devpts: path.join(dir, "pts"),
    fsRoot,
    shm: path.join(fsRoot, "shm"),
    task: path.join(fsRoot, "task"),
    home: path.join(fsRoot, "home"),
    work: path.join(fsRoot, "work"),
    tmp: path.join(fsRoot, "tmp"),
    record: path.join(recordsDir(), `${id}.jsonl`),
  };
}

/** A target's private writable directories inside the sandbox tmpfs (never bound into the workload). */
export function targetDirs(layout: SandboxLayout, target: string): { root: string; work: string; tmp: string; shm: string } {
  const root = path.join(layout.fsRoot, `svc-${target}`);
  return { root, work: path.join(root, "work"), tmp: path.join(root, "tmp"), shm: path.join(root, "shm") };
}
