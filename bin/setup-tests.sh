#!/usr/bin/env bash
# Prepares what the *test suite* needs beyond the quickstart (bin/setup-host.sh): each part of the
# test path that needs a build or an install (the real Pulumi engine, a local Kubernetes control
# plane, the Inspect AI virtual environment, ...) has one script in bin/setup-tests.d/, run here in
# name order. Each caches its result under a versioned path outside the repository and returns at
# once when it is already there, so a second run costs seconds. Runs as `npm test`'s pretest step,
# so `.ci/run` (which runs `npm test`) reaches it too, and the README's first command stays fast.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
for step in bin/setup-tests.d/*.sh; do
  bash "$step"
done
