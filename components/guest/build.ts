// Builds the guard's bundle: components/guest/main.ts and what it imports, compiled to CommonJS by
// the repository's own tsc (no bundler dependency), packed as airlock-guard.tar.gz. The artifacts
// store then holds this tarball and a Node binary (docs/guest-guard.md). `node bin/run-ts.js
// components/guest/build.ts <out dir>` writes both (the Node binary copied from the running one).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { GUARD_ARTIFACTS } from "./install";

const REPO = path.join(__dirname, "..", "..");

/** Compiles the guard into `dir` (a tree with components/guest/main.js at GUARD_ENTRY). */
export function compileGuard(dir: string): void {
  const tsc = path.join(REPO, "node_modules", "typescript", "bin", "tsc");
  const args = [tsc, "--outDir", dir, "--rootDir", REPO, "--module", "commonjs", "--target", "es2022", "--moduleResolution", "node", "--esModuleInterop", "--skipLibCheck", "--noCheck", "--types", "node", path.join(REPO, "components", "guest", "main.ts")];
  const r = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`compiling the guest guard failed: ${(r.stdout + r.stderr).trim()}`);
  // Only what the guard runs: every emitted file is reachable from main.js (type-only imports emit nothing it loads).
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ private: true, type: "commonjs" }) + "\n");
}

/** Writes airlock-guard.tar.gz (and, with `node`, the Node binary) into `outDir`. */
export function buildGuardArtifacts(outDir: string, o: { node?: string } = {}): { bundle: string; node?: string } {
  fs.mkdirSync(outDir, { recursive: true });
  const tree = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-guard-build-"));
  try {
    compileGuard(tree);
    const bundle = path.join(outDir, GUARD_ARTIFACTS.bundle.file);
    const r = spawnSync("tar", ["-czf", bundle, "-C", tree, "."], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
    let node: string | undefined;
    if (o.node) {
      node = path.join(outDir, GUARD_ARTIFACTS.node.file);
      fs.copyFileSync(o.node, node);
      fs.chmodSync(node, 0o755);
    }
    return { bundle, node };
  } finally {
    fs.rmSync(tree, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write("usage: node bin/run-ts.js components/guest/build.ts <artifacts dir>\n");
    process.exit(2);
  }
  const built = buildGuardArtifacts(out, { node: process.execPath });
  process.stdout.write(`wrote ${built.bundle}${built.node ? ` and ${built.node} (Node ${process.version}, ${process.arch}: the VM must match)` : ""}\n`);
}
