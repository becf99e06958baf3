#!/usr/bin/env node
// The `airlock` command (npx airlock ...). Loads the TypeScript CLI through ts-node (transpile-only).
const path = require("path");
require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
require(path.join(__dirname, "..", "cli", "main.ts")).main(process.argv.slice(2));
