// Files, directories and mounts a sandbox owns on the host, with their undo kinds:
//   "path"   a directory or file under a sandboxes/ or leases/ directory: removed (after unmounting
//            anything still mounted below it);
//   "mount"  a tmpfs mounted on the host: unmounted (lazily if a straggler still holds it).
// Both are idempotent. Removal refuses paths that are not inside an Airlock state layout, so that a
// corrupted journal can never make recovery delete an arbitrary directory.
import * as fs from "fs";
import * as path from "path";
import { registerUndo, UndoJournal } from "../host/journal";
import { run } from "../host/exec";

/** Mount points currently mounted at or below `dir` (deepest first). */
export function mountsBelow(dir: string): string[] {
  const prefix = dir.endsWith("/") ? dir : dir + "/";
  let text = "";
  try {
    text = fs.readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return [];
  }
  const points = text
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\040/g, " "))
    .filter((p) => p === dir || p.startsWith(prefix));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

export function isMountPoint(dir: string): boolean {
  return mountsBelow(dir).includes(dir);
}

export async function unmount(target: string): Promise<void> {
  for (let attempt = 0; attempt < 3 && isMountPoint(target); attempt++) {
    const r = await run("umount", [target], { allowFail: true, timeoutMs: 10_000 });
    if (r.code === 0) continue;
    // Busy: a process (being killed) still has a file open. Detach now; the kernel frees it later.
    await run("umount", ["-l", target], { allowFail: true, timeoutMs: 10_000 });
  }
  if (isMountPoint(target)) throw new Error(`cannot unmount ${target}`);
}

function assertRemovable(p: string): void {
  const norm = path.resolve(p);
  if (!/\/(sandboxes|leases)\/[^/]+/.test(norm) || norm.split("/").includes("..")) {
    throw new Error(`refusing to remove '${p}': not inside an Airlock sandboxes/ or leases/ directory`);
  }
}

export async function removePath(p: string): Promise<void> {
  assertRemovable(p);
  for (const m of mountsBelow(p)) await unmount(m);
  fs.rmSync(p, { recursive: true, force: true });
}

registerUndo("path", async (a: { path: string }) => removePath(a.path));
registerUndo("mount", async (a: { target: string }) => unmount(a.target));

/** Creates a directory (0700 root unless `mode`) with its removal journaled first. */
export async function createDir(journal: UndoJournal, dir: string, mode = 0o700): Promise<void> {
  await journal.apply("path", `directory ${dir}`, { path: dir }, () => {
    fs.mkdirSync(dir, { recursive: true, mode });
    fs.chmodSync(dir, mode);
  });
}

/** Mounts a size-limited tmpfs (nosuid, nodev) with its unmount journaled first; `source` names it in /proc/mounts. */
export async function mountTmpfs(journal: UndoJournal, target: string, opts: { source: string; sizeBytes: number; mode?: number }): Promise<void> {
  fs.mkdirSync(target, { recursive: true, mode: 0o755 });
  const options = `size=${opts.sizeBytes},mode=${(opts.mode ?? 0o755).toString(8)},nosuid,nodev`;
  await journal.apply("mount", `tmpfs ${target}`, { target }, () => run("mount", ["-t", "tmpfs", "-o", options, opts.source, target]));
}

/**
 * Mounts a private devpts instance (its own pty numbering, at most `maxPtys` ptys) with its unmount
 * journaled first. bwrap's --dev mounts devpts without max=, so one sandbox could take every pty of
 * the pool all non-initial instances share (kernel.pty.max - kernel.pty.reserve) and the next sandbox
 * would get none. Mounted from the host's mount namespace, the instance may also use the reserve —
 * bounded by `max` per sandbox, and the host's own devpts keeps its reserve.
 */
export async function mountDevpts(journal: UndoJournal, target: string, maxPtys: number): Promise<void> {
  fs.mkdirSync(target, { recursive: true, mode: 0o755 });
  const options = `newinstance,ptmxmode=0666,mode=0620,max=${maxPtys}`;
  await journal.apply("mount", `devpts ${target} (max ${maxPtys})`, { target }, () => run("mount", ["-t", "devpts", "-o", options, "devpts", target]));
}

/**
 * Copies a directory tree into the sandbox tmpfs (root-owned; permission bits kept without
 * setuid/setgid/sticky; mtimes kept; symlinks copied as links; sockets, fifos and devices skipped), so
 * that the sandbox sees the files without a bind mount that would name their host path.
 * `keepOwner`: the copy keeps each entry's owner and group instead (the host /etc entries of the
 * curated /etc, which must look as they did bound: /etc/ssl/private stays root:ssl-cert 0710).
 * `followTop`: a symlink given as `src` is copied as what it points to, as a bind mount of it shows it
 * (/etc/localtime -> /usr/share/zoneinfo/... was a bound file); links further down stay links.
 */
export function copyTree(src: string, dest: string, opts: { keepOwner?: boolean; followTop?: boolean } = {}): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const owner = (st: fs.Stats): [number, number] => (opts.keepOwner ? [st.uid, st.gid] : [0, 0]);
  const walk = (from: string, to: string, follow: boolean) => {
    const st = follow ? fs.statSync(from) : fs.lstatSync(from);
    if (st.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(from), to);
      fs.lchownSync(to, ...owner(st));
      return;
    }
    if (st.isDirectory()) {
      fs.mkdirSync(to, { mode: 0o700 });
      for (const e of fs.readdirSync(from)) walk(path.join(from, e), path.join(to, e), false);
    } else if (st.isFile()) {
      fs.copyFileSync(from, to);
      files++;
      bytes += st.size;
    } else return;
    fs.chownSync(to, ...owner(st));
    fs.chmodSync(to, st.mode & 0o777);
    fs.utimesSync(to, st.atime, st.mtime);
  };
  walk(src, dest, !!opts.followTop);
  return { files, bytes };
}
