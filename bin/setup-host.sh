#!/usr/bin/env bash
# Prepares a Debian/Ubuntu host for Airlock, idempotently, as root: the Debian packages the local
# backend uses, the Toxiproxy server (the egress gate), and the npm packages from the lockfile.
# Used by the README's first command and by .ci/run, so the two can never drift apart.
set -euo pipefail
cd "$(dirname "$0")/.."

TOXIPROXY_VERSION=v2.12.0
# (gcc, libc6-dev, linux-libc-dev: the socket-refusal launcher, components/local/notify/, is built here.)
DEBIAN_PACKAGES=(nftables bubblewrap iproute2 procps util-linux mount inotify-tools python3 ca-certificates gcc libc6-dev linux-libc-dev)

say() { printf '\n=== %s\n' "$*"; }
die() { printf 'setup-host: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run me as root (e.g. sudo bash bin/setup-host.sh): network namespaces, nftables and cgroups need it"
command -v node >/dev/null || die "Node.js >= 20.19 is needed: install it (e.g. from https://nodejs.org or NodeSource) and run me again"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || die "Node.js >= 20.19 is needed (found $(node --version))"

say "Debian packages: ${DEBIAN_PACKAGES[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${DEBIAN_PACKAGES[@]}" >/dev/null

say "Toxiproxy server ${TOXIPROXY_VERSION} (/usr/local/bin/toxiproxy-server)"
# `go install` builds report "git" from -version, so the module version is read from the binary.
have_pinned() { command -v go >/dev/null && go version -m /usr/local/bin/toxiproxy-server 2>/dev/null | grep -qE "mod[[:space:]]+github.com/Shopify/toxiproxy/v2[[:space:]]+${TOXIPROXY_VERSION}([[:space:]]|$)"; }
if ! have_pinned; then
  command -v go >/dev/null || die "Go >= 1.23 is needed to build the Toxiproxy server (https://go.dev/dl), or put toxiproxy-server ${TOXIPROXY_VERSION} at /usr/local/bin/toxiproxy-server yourself"
  gobin=$(mktemp -d)
  GOBIN="$gobin" go install "github.com/Shopify/toxiproxy/v2/cmd/server@${TOXIPROXY_VERSION}"
  install -m 0755 "$gobin/server" /usr/local/bin/toxiproxy-server
  rm -rf "$gobin"
fi
go version -m /usr/local/bin/toxiproxy-server | sed -n 3p

say "npm packages (from package-lock.json)"
npm ci --no-audit --no-fund

say "compiled CLI (dist/, transpile-only; a few seconds)"
node bin/build-dist.js

say "socket-refusal launcher (components/local/notify/, cached under /var/cache/airlock)"
node bin/run-ts.js components/local/notify/launcher.ts

say "ready: run 'npx airlock run examples/quickstart.yaml' (as root)"
