#!/usr/bin/env node
// The `airlock` command (npx airlock ...). Runs the CLI from its compiled JavaScript in dist/ (built
// by bin/setup-host.sh and the test setup), compiling at start only modules dist/ lacks or has
// older than their source (bin/ts-hook.js says so on stderr).
const path = require("path");
require("./ts-hook").register();
require(path.join(__dirname, "..", "cli", "main.ts")).main(process.argv.slice(2));
