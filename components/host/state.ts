// Where Airlock keeps host-side state (journals, sandbox records, runtime files). Outside any sandbox's
// view: sandboxes never mount it. AIRLOCK_STATE_DIR overrides it (tests use a temporary directory).
import * as fs from "fs";
import * as path from "path";

export const DEFAULT_STATE_DIR = "/var/lib/airlock";

export function stateDir(): string {
  return process.env.AIRLOCK_STATE_DIR || DEFAULT_STATE_DIR;
}

/** A subdirectory of the state dir, created 0700 on first use. */
export function statePath(...parts: string[]): string {
  const dir = path.join(stateDir(), ...parts);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
