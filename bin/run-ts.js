#!/usr/bin/env node
// Runs a TypeScript entry point without a build step. Transpile-only: type errors are caught by
// `npm run typecheck` (tsc --noEmit), which is slow on the cloud provider SDKs and so runs once in CI.
process.env.TS_NODE_TRANSPILE_ONLY = "true";
require("ts-node").register({ transpileOnly: true, project: require("path").join(__dirname, "..", "tsconfig.json") });
const entry = require("path").resolve(process.argv[2]);
process.argv.splice(1, 2, entry);
require(entry);
