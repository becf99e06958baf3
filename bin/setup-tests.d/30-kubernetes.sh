#!/usr/bin/env bash
# The real Kubernetes control plane the test suite runs on loopback (test/helpers/kube-cluster.ts):
#   - etcd from Debian's etcd-server package (downloaded and unpacked, never installed as a service);
#   - kube-apiserver, kube-controller-manager, kube-scheduler, kubectl built from tools/kubernetes
#     (a Go build module pinning k8s.io/kubernetes and every staging module by go.sum);
#   - kwok (fake nodes and pod lifecycles: pods become Running without a kubelet or an image).
# Why this way: no container image can be pulled here and Debian's kubernetes-client is too old
# (see /work/shared/reference/kubernetes-local.md). Cached under a path named by the versions and the
# build module's hash, so a second run returns at once. Prints the cache's path on its last line.
# AIRLOCK_KUBE_CACHE overrides the cache root (default /var/cache/airlock).
set -euo pipefail
cd "$(dirname "$0")/../.."

source tools/kubernetes/versions.env
root=${AIRLOCK_KUBE_CACHE:-/var/cache/airlock}
modhash=$(cat tools/kubernetes/go.mod tools/kubernetes/go.sum | sha256sum | cut -c1-12)
DIR="$root/kubernetes-v$KUBE_VERSION-kwok$KWOK_VERSION-etcd$ETCD_DEB_VERSION-$modhash"
BIN="$DIR/bin"
wanted=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)

all_there() { for b in "${wanted[@]}"; do [ -x "$BIN/$b" ] || return 1; done; [ -s "$DIR/kwok-stages.yaml" ]; }

mkdir -p "$root"
exec 9>"$DIR.lock"
flock 9 # two checkouts setting up at once build it once

if all_there; then
  echo "setup-tests: Kubernetes control plane ready (cached): $DIR"
  exit 0
fi
command -v go >/dev/null || { echo "setup-tests: the Kubernetes control plane needs Go >= 1.25 on PATH (https://go.dev/dl/)" >&2; exit 1; }
mkdir -p "$BIN"
started=$(date +%s)

if [ ! -x "$BIN/etcd" ]; then
  echo "setup-tests: fetching etcd $ETCD_DEB_VERSION (Debian etcd-server, unpacked only; seconds)"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq "etcd-server=$ETCD_DEB_VERSION" >/dev/null 2>&1) \
    || { apt-get update -qq >/dev/null && (cd "$tmp" && apt-get download -qq "etcd-server=$ETCD_DEB_VERSION" >/dev/null); }
  dpkg -x "$tmp"/etcd-server_*.deb "$tmp/x"
  install -m 0755 "$tmp/x/usr/bin/etcd" "$BIN/etcd"
  rm -rf "$tmp"
fi

need_k8s=0
for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do [ -x "$BIN/$b" ] || need_k8s=1; done
if [ "$need_k8s" = 1 ]; then
  echo "setup-tests: building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl v$KUBE_VERSION from Go modules (cold: ~4-9 min, ~2 GB RAM, ~5 GB of Go caches; once per version): $DIR"
  t0=$(date +%s)
  major=${KUBE_VERSION%%.*}; rest=${KUBE_VERSION#*.}; minor=${rest%%.*}
  ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    # Stamped, or every client sees v0.0.0 and refuses version-skewed features.
    ld="$ld -X $pkg.gitVersion=v$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  (cd tools/kubernetes && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -p 1 -trimpath -ldflags "$ld" -o "$BIN/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
  echo "setup-tests: control plane built in $(( $(date +%s) - t0 )) s"
fi

if [ ! -x "$BIN/kwok" ]; then
  echo "setup-tests: building kwok v$KWOK_VERSION (go install, pinned by version and the checksum database; ~1.5 min cold)"
  t0=$(date +%s)
  CGO_ENABLED=0 GOBIN="$BIN" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
  echo "setup-tests: kwok built in $(( $(date +%s) - t0 )) s"
fi

if [ ! -s "$DIR/kwok-stages.yaml" ]; then
  # kwok v0.8 runs no pod or node lifecycle without Stage definitions: its own "fast" stages (node
  # initialize + heartbeat, pod ready / complete / delete), taken from the same pinned module.
  src=$(cd / && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kwok@v$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$src/kustomize/stage" ] || { echo "setup-tests: kwok's stage definitions not found in the module cache ($src)" >&2; exit 1; }
  for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    printf -- '---\n'; cat "$src/kustomize/stage/$f"
  done > "$DIR/kwok-stages.yaml.tmp"
  mv "$DIR/kwok-stages.yaml.tmp" "$DIR/kwok-stages.yaml"
fi

all_there || { echo "setup-tests: the Kubernetes control plane build left $BIN incomplete" >&2; exit 1; }
[ "$(( $(date +%s) - started ))" -lt 5 ] || echo "$(( $(date +%s) - started ))" > "$DIR/build-seconds"
echo "setup-tests: Kubernetes control plane ready in $(( $(date +%s) - started )) s: $DIR"
