#!/usr/bin/env node
// Runs a TypeScript entry point of this project (the supervisor, the bench, test helpers) from its
// compiled JavaScript in dist/, compiling at start only what dist/ lacks (bin/ts-hook.js).
// Transpile-only either way: type errors are caught by `npm run typecheck` (tsc --noEmit), which is
// slow on the cloud provider SDKs and so runs once in CI. A file outside the project's sources is
// loaded through ts-node.
process.env.TS_NODE_TRANSPILE_ONLY = "true";
const path = require("path");
const entry = path.resolve(process.argv[2]);
if (require("./dist").distPathOf(entry)) require("./ts-hook").register();
else require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
process.argv.splice(1, 2, entry);
require(entry);
