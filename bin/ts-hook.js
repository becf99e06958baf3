// Loads the project's .ts modules from their compiled form in dist/ (bin/build-dist.js), so a
// command starts in tens of milliseconds instead of compiling its modules first. A module keeps its
// own .ts filename (so __dirname, require.resolve and stack file names stay those of the sources);
// only its code comes from dist/. When dist/ lacks a module or is older than its source (an edit
// since the setup step), that module is transpiled here, as ts-node --transpile-only would, cached
// into dist/ for the next start, and stderr says so once.
"use strict";
const fs = require("fs");
const Module = require("module");
const { distPathOf, transpile, writeAtomic } = require("./dist");

let ts;
let warned = false;

function compiledCode(file) {
  const out = distPathOf(file);
  if (!out) return undefined;
  const outStat = fs.statSync(out, { throwIfNoEntry: false });
  if (outStat && outStat.mtimeMs >= fs.statSync(file).mtimeMs) return fs.readFileSync(out, "utf8");
  if (!warned) {
    warned = true;
    process.stderr.write(`airlock: dist/ is missing or older than the sources (${require("path").relative(require("./dist").ROOT, file)}); compiling at start, which is slower — run \`node bin/build-dist.js\`\n`);
  }
  ts ??= require("typescript");
  const code = transpile(ts, file, fs.readFileSync(file, "utf8"));
  try {
    writeAtomic(out, code);
  } catch {
    // A read-only checkout or another user's dist/: compile again next time.
  }
  return code;
}

/** Installs the .ts loader unless one (ts-node's, under mocha) is already there. */
function register() {
  if (Module._extensions[".ts"]) return;
  Module._extensions[".ts"] = function (module, filename) {
    const code = compiledCode(filename);
    if (code === undefined) throw new Error(`airlock: ${filename} is outside the project's sources and cannot be loaded without ts-node`);
    module._compile(code, filename);
  };
}

module.exports = { register };
