// What the workload and the targets see, derived from the handle alone — so that the workload, every
// `airlock sandbox exec` (another process, later) and every target get exactly the confinement the
// sandbox was created with.
//
//   workload:  /usr ro, curated /etc ro (generated passwd/group/hosts/resolv.conf), /home/<user>
//              (canaries inside), /work, /tmp, /dev/shm — from the sandbox tmpfs — the task files ro
//              at /opt/task (a copy in the sandbox tmpfs: no host path in its mount table), and the
//              sandbox's private devpts. Joins the sandbox namespace and the workload cgroup.
//   target:    the same system view, its own /work, /tmp and /dev/shm, the task files, no ptys;
//              joins the targets namespace and the targets cgroup, as the targets uid.
import * as path from "path";
import { cgroupOf, CgroupRef } from "../host/cgroup";
import type { LocalSandboxHandle } from "./handle";
import { BASE_PATH, Confinement } from "./confine";
import { sandboxLayout, targetDirs } from "./layout";
import { refusalTallyPath } from "./refusal-tally";

/** Where the task files (next to the spec) appear inside the sandbox. */
export const TASK_MOUNT = "/opt/task";
export const WORK_MOUNT = "/work";

export { cgroupOf };

export function cgroupProcsFiles(ref: CgroupRef): string[] {
  return cgroupOf(ref)
    .dirs()
    .map((d) => path.join(d, "cgroup.procs"));
}

/** A plain environment: nothing in it says "Airlock", "sandbox" or "evaluation". */
export function baseEnv(user: string, home: string): Record<string, string> {
  return { PATH: BASE_PATH, HOME: home, USER: user, LOGNAME: user, SHELL: "/bin/sh", LANG: "C.UTF-8", TMPDIR: "/tmp" };
}

/** The task files: the copy in the sandbox tmpfs (older handles: the host directory itself). */
function taskBind(h: LocalSandboxHandle) {
  const src = h.taskCopy ?? h.taskDir;
  return src ? [{ src, dest: TASK_MOUNT }] : [];
}

export function workloadConfinement(h: LocalSandboxHandle): Confinement {
  const u = h.workloadUser;
  if (!u) throw new Error(`sandbox ${h.id}: the handle has no workload user (created by an older Airlock?)`);
  const layout = sandboxLayout(h.id);
  return {
    netns: h.netns,
    cgroupProcs: cgroupProcsFiles(h.cgroup),
    uid: u.uid,
    gid: u.gid,
    hostname: h.spec.name,
    etcDir: path.join(layout.etcDir, "workload"),
    etcComplete: h.etcComplete === true,
    binds: [
      { src: layout.home, dest: u.home, writable: true },
      { src: layout.work, dest: WORK_MOUNT, writable: true },
      { src: layout.tmp, dest: "/tmp", writable: true },
      ...taskBind(h),
    ],
    cwd: WORK_MOUNT,
    env: { ...baseEnv(u.name, u.home), ...h.spec.workload.env },
    seccompFile: h.seccomp ? layout.seccompFile : undefined,
    rootInUserns: u.rootInUserns,
    devpts: h.devpts,
    shm: h.devpts ? layout.shm : undefined,
    refusalTally: refusalTallyPath(h.id),
  };
}

export const TARGET_USER = "service";

export function targetConfinement(h: LocalSandboxHandle, target: string): Confinement {
  const svc = h.services;
  const t = h.spec.targets.find((x) => x.name === target);
  if (!svc || !t) throw new Error(`sandbox ${h.id} has no target '${target}'`);
  const layout = sandboxLayout(h.id);
  const dirs = targetDirs(layout, target);
  return {
    netns: svc.netns,
    cgroupProcs: cgroupProcsFiles(svc.cgroup),
    uid: svc.uid,
    gid: svc.uid,
    hostname: target,
    etcDir: path.join(layout.etcDir, "targets"),
    etcComplete: h.etcComplete === true,
    binds: [{ src: dirs.work, dest: WORK_MOUNT, writable: true }, { src: dirs.tmp, dest: "/tmp", writable: true }, ...taskBind(h)],
    cwd: WORK_MOUNT,
    env: { ...baseEnv(TARGET_USER, WORK_MOUNT), PORT: String(t.port), ...t.env },
    seccompFile: h.seccomp ? layout.seccompFile : undefined,
    shm: h.devpts ? dirs.shm : undefined,
  };
}
