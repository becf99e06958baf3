// Reading and writing cgroup files: the small helpers both versions share.
import * as fs from "fs";
import * as path from "path";

export const CGROUP2_SUPER_MAGIC = 0x63677270;
const CGROUP_SUPER_MAGIC = 0x27e0eb; // v1

export const read = (file: string) => fs.readFileSync(file, "utf8").trim();

export function write(file: string, value: string): void {
  try {
    fs.writeFileSync(file, value);
  } catch (err: any) {
    throw new Error(`cannot write '${value}' to ${file}: ${err.code ?? err.message}`);
  }
}

export function parseKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

/** A measurement that may be missing on this kernel: the fallback instead of an error. */
export function safe<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

/** `fn()`, or `absent` when what it reads is already gone (ENOENT); any other error is thrown. */
export function ifPresent<T>(fn: () => T, absent: T): T {
  try {
    return fn();
  } catch (err: any) {
    if (err?.code === "ENOENT") return absent;
    throw err;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `done` up to 100 times, 10 ms apart (the kernel freezes/thaws asynchronously). */
export async function settle(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (done()) return;
    await sleep(10);
  }
}

/** rmdir a cgroup directory and its child cgroups, deepest first (cgroup dirs only rmdir when empty). */
export function removeTree(dir: string): void {
  for (const e of ifPresent(() => fs.readdirSync(dir, { withFileTypes: true }), [])) if (e.isDirectory()) removeTree(path.join(dir, e.name));
  try {
    fs.rmdirSync(dir);
  } catch (err: any) {
    // A fake (test) tree holds regular files; a real cgroup dir only holds kernel files.
    if (err.code === "ENOTEMPTY" && !isCgroupFs(dir)) fs.rmSync(dir, { recursive: true, force: true });
    else if (err.code !== "ENOENT") throw new Error(`cannot remove cgroup ${dir}: ${err.code}`);
  }
}

export function isCgroupFs(dir: string): boolean {
  try {
    const t = fs.statfsSync(dir).type;
    return t === CGROUP2_SUPER_MAGIC || t === CGROUP_SUPER_MAGIC;
  } catch {
    return false;
  }
}
