// The project's TypeScript as compiled JavaScript, so that `airlock` (and the processes it spawns)
// start without a compiler. One rule, shared by the builder (bin/build-dist.js) and the loader
// (bin/ts-hook.js): <repo>/<path>.ts compiles to <repo>/dist/<path>.js, emitted file by file,
// transpile-only (ts.transpileModule, as ts-node --transpile-only does): type errors are
// `npm run typecheck`'s job, so a type error another change introduced never breaks the build.
"use strict";
const fs = require("fs");
const path = require("path");

const ROOT = path.join(__dirname, "..");
const DIST = path.join(ROOT, "dist");
/** The source trees compiled (what the CLI, the supervisor, the bench and test helpers load). */
const SOURCES = ["index.ts", "components", "chaos", "cli", "automation", "policy", "bench", "test/helpers"];

/** Where a source file's compiled form lives, or undefined for files outside the project's sources. */
function distPathOf(file) {
  const rel = path.relative(ROOT, file);
  if (rel.startsWith("..") || path.isAbsolute(rel) || rel.startsWith("node_modules") || rel.startsWith("dist" + path.sep)) return undefined;
  if (!rel.endsWith(".ts") || rel.endsWith(".d.ts")) return undefined;
  return path.join(DIST, rel.slice(0, -3) + ".js");
}

let compilerOptions;
/** The tsconfig's options that matter for emit (module kind, target, interop), read once. */
function options(ts) {
  if (compilerOptions) return compilerOptions;
  const cfg = ts.readConfigFile(path.join(ROOT, "tsconfig.json"), ts.sys.readFile);
  const parsed = ts.convertCompilerOptionsFromJson(cfg.config.compilerOptions, ROOT);
  compilerOptions = { ...parsed.options, noEmit: false, declaration: false, sourceMap: false, inlineSourceMap: false };
  return compilerOptions;
}

/** Transpiles one file (no type information: the same output ts-node --transpile-only gives). */
function transpile(ts, file, source) {
  return ts.transpileModule(source, { fileName: file, compilerOptions: options(ts), reportDiagnostics: false }).outputText;
}

/** Writes atomically, so a process loading the file never reads half of it. */
function writeAtomic(out, text) {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, out);
}

module.exports = { ROOT, DIST, SOURCES, distPathOf, transpile, writeAtomic };
