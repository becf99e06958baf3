// Helpers every test file may use: named skips, polling for a condition, sleeping, failing host tools.
// (local-sandbox.ts re-exports skipBecause and waitFor for the local tests.)
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { sleep } from "../../chaos/measure/loop";

export { sleep };

/**
 * A named skip: a test that needs a capability this host lacks says which and why, on the console
 * ("SKIPPED: <full test title>: <reason>") and in mocha's pending list — never a silent pass. From a
 * hook (before/beforeEach), the title is the suite's: every test in it is skipped.
 */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
  const t = ctx.test as Mocha.Test | Mocha.Hook | undefined;
  const title = !t ? "(unknown test)" : t.type === "hook" ? `${t.parent?.fullTitle() ?? ""} (every test in it)` : t.fullTitle();
  process.stdout.write(`      SKIPPED: ${title}: ${reason}\n`);
  ctx.skip();
}

/** Polls `fn` every `everyMs` until it returns something truthy (returned), or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Host tools that fail on purpose, for the tests of "a real failure still throws": inside the
 * describe() that calls it, `fake(tool, script)` puts a /bin/sh script of that name first on this
 * process's PATH for one test; PATH is restored after each test.
 */
export function fakeToolsPerTest(): (tool: string, script: string) => void {
  let dir: string | undefined;
  const path0 = process.env.PATH;
  afterEach(() => {
    process.env.PATH = path0;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return (tool, script) => {
    dir ??= fs.mkdtempSync(path.join(os.tmpdir(), "fake-tools-"));
    fs.writeFileSync(path.join(dir, tool), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
    process.env.PATH = `${dir}:${path0}`;
  };
}

/** What an engine operation changed: its summary's resource counts without "same" and zeros. */
export function changes(r: { summary: { resourceChanges?: Record<string, number> } }): Record<string, number> {
  return Object.fromEntries(Object.entries(r.summary.resourceChanges ?? {}).filter(([k, n]) => k !== "same" && n > 0));
}
