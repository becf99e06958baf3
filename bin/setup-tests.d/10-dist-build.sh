#!/usr/bin/env bash
# The compiled CLI in dist/ (bin/build-dist.js), which the tests' `airlock` processes and the shared
# supervisor run from. Transpile-only, only files newer than their output: seconds the first time,
# well under one after. Type errors are the type-check's to report, never this step's.
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "setup-tests: compiling the CLI into dist/ (transpile-only, a few seconds the first time)"
node bin/build-dist.js
