#!/usr/bin/env bash
# Builds the Kubernetes guard's image as an OCI layout tarball (no Docker needed) and prints its
# digest: set the stack's airlock:kubernetes images.guard to <your repository>@<that digest>, then push,
# e.g. `skopeo copy oci-archive:build/guard-image.tar docker://<registry>/airlock/guard@<digest>`.
# Details: components/kubernetes/guard-image.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/guard-image.tar}
node bin/build-dist.js >/dev/null
node bin/run-ts.js components/kubernetes/guard-image.ts "$out"
