// Startup scripts (metadata `startup-script`) for the GCP instances. Pure functions over strings, so
// the rendered script is exactly what the instance receives and tests need no SDK.
//
// Shared with the other VM backends (components/cloud/boot.ts): the header, the in-guest expiry timer
// (power off `ttlSeconds` after boot), units, the workload setup and the quoting helpers. GCP-specific here: the journal is
// shipped with the instance's own service-account token from the metadata server to Cloud Storage's
// JSON API — the gate straight through Private Google Access, the workload through the gate's record
// listener (the workload has no route to Google APIs). GCE runs startup scripts on every boot, so
// every step is idempotent. Nothing here mentions canaries or evaluations: the workload can read its
// own metadata.
import { everyMinute, expiryTimer, installUnit, scriptHeader, sq, unitFile, workloadSetup, WorkloadSetup, writeFile } from "../cloud/boot";
import { STORAGE_HOST } from "./services";

export const TOXIPROXY_ADMIN_PORT = 8474;
const TOKEN_URL = "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token";

export interface CommonBoot {
  ttlSeconds: number;
  logBucket: string;
  logPrefix: string;
  /** `host:port` of the gate's record listener, when this instance reaches Cloud Storage through it. */
  storageVia?: string;
}

/** curl to Cloud Storage with this instance's token (through the gate when `via` is set). */
function storageCurl(via: string | undefined): string {
  const connect = via ? ` --connect-to ${sq(`${STORAGE_HOST}:443:${via}`)}` : "";
  return `curl -fsS --retry 3${connect} -H "Authorization: Bearer $(curl -fsS -H 'Metadata-Flavor: Google' ${TOKEN_URL} | sed -n 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/p')"`;
}

function logShipper(b: CommonBoot): string {
  const object = `${b.logPrefix}$(date -u +%Y%m%dT%H%M%SZ)-$(hostname).jsonl`;
  const script = [
    "#!/bin/bash",
    "set -euo pipefail",
    "state=/var/lib/log-shipper/cursor",
    "mkdir -p /var/lib/log-shipper",
    "args=(-o json --no-pager --show-cursor)",
    '[ -s "$state" ] && args+=(--after-cursor "$(cat "$state")")',
    'out=$(mktemp); trap \'rm -f "$out"\' EXIT',
    'journalctl "${args[@]}" > "$out" || true',
    'cursor=$(tail -n 1 "$out" | sed -n \'s/^-- cursor: //p\'); [ -n "$cursor" ] || exit 0',
    'sed -i \'$d\' "$out"',
    `[ -s "$out" ] && ${storageCurl(b.storageVia)} -X POST --data-binary @"$out" -H 'Content-Type: application/x-ndjson' "https://${STORAGE_HOST}/upload/storage/v1/b/${b.logBucket}/o?uploadType=media&name=${object}" >/dev/null`,
    // The cursor moves only after a successful upload (set -e), so nothing is skipped.
    'echo "$cursor" > "$state"',
  ].join("\n");
  return [writeFile("/usr/local/sbin/log-shipper", script, { mode: "0755" }), everyMinute("log-shipper", "Ship the journal to the record", "/usr/local/sbin/log-shipper")].join("\n");
}

/** Header and expiry timer first (so even a failed bootstrap expires), then the log shipper. */
function start(b: CommonBoot): string {
  return [scriptHeader(), expiryTimer(b.ttlSeconds), logShipper(b)].join("\n");
}

export type WorkloadBoot = CommonBoot & WorkloadSetup;

export function renderWorkloadBoot(b: WorkloadBoot): string {
  return [start(b), workloadSetup(b), ""].join("\n");
}

export interface GateBoot extends CommonBoot {
  artifactsBucket: string;
  toxiproxyKey: string;
  proxies: { name: string; listen: string; upstream: string; enabled: boolean }[];
  adminPort: number;
}

export function renderGateBoot(b: GateBoot): string {
  const service = unitFile(
    "Egress gate (Toxiproxy)",
    [
      "User=toxiproxy",
      // The admin API listens on loopback only: chaos schedules run on the gate, never from the workload.
      `ExecStart=/usr/local/bin/toxiproxy-server -host 127.0.0.1 -port ${b.adminPort} -config /etc/toxiproxy.json`,
      "AmbientCapabilities=CAP_NET_BIND_SERVICE",
      "Restart=always",
    ],
    { wantedBy: "multi-user.target", afterNetwork: true },
  );
  const key = encodeURIComponent(b.toxiproxyKey);
  return [
    start(b),
    `[ -x /usr/local/bin/toxiproxy-server ] || ${storageCurl(undefined)} -o /usr/local/bin/toxiproxy-server "https://${STORAGE_HOST}/storage/v1/b/${b.artifactsBucket}/o/${key}?alt=media"`,
    "chmod 0755 /usr/local/bin/toxiproxy-server",
    "id -u toxiproxy >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin toxiproxy",
    writeFile("/etc/toxiproxy.json", JSON.stringify(b.proxies, null, 2), { mode: "0644" }),
    installUnit("toxiproxy", service),
    "",
  ].join("\n");
}

/** Targets run their own image and have no egress at all: the expiry timer only. */
export function renderTargetBoot(ttlSeconds: number): string {
  return [scriptHeader(), expiryTimer(ttlSeconds), ""].join("\n");
}
