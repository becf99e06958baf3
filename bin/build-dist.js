#!/usr/bin/env node
// Compiles the project's TypeScript into dist/ (see bin/dist.js for the layout and why it is
// transpile-only). Run by bin/setup-host.sh and bin/setup-tests.d/10-dist-build.sh; only files whose
// source is newer than their output are compiled again, so a second run takes well under a second.
// `--force` compiles everything.
"use strict";
const fs = require("fs");
const path = require("path");
const { ROOT, SOURCES, distPathOf, transpile, writeAtomic } = require("./dist");

function* tsFiles(p) {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) return;
  if (st.isFile()) {
    if (p.endsWith(".ts") && !p.endsWith(".d.ts")) yield p;
    return;
  }
  for (const e of fs.readdirSync(p, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    yield* tsFiles(path.join(p, e.name));
  }
}

const force = process.argv.includes("--force");
const started = Date.now();
let ts;
let compiled = 0;
let total = 0;
for (const src of SOURCES) {
  for (const file of tsFiles(path.join(ROOT, src))) {
    total++;
    const out = distPathOf(file);
    const outStat = fs.statSync(out, { throwIfNoEntry: false });
    if (!force && outStat && outStat.mtimeMs >= fs.statSync(file).mtimeMs) continue;
    ts ??= require("typescript");
    writeAtomic(out, transpile(ts, file, fs.readFileSync(file, "utf8")));
    compiled++;
  }
}
process.stdout.write(`dist: compiled ${compiled} of ${total} TypeScript files into dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
