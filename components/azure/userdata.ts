// First-boot scripts (cloud-init custom data) for the Azure sandbox's machines: the shared pieces
// from ../cloud/boot.ts plus what is Azure's own — getting a token for the machine's user-assigned
// identity from IMDS (169.254.169.254, header `Metadata: true`; IMDS refuses proxied requests) and
// talking to Blob storage over HTTPS with it (no key: the record account has shared-key access off).
//   log shipper  every minute, new journal entries become a new blob under this machine's prefix of
//                the record container (its role may create blobs there and nothing else);
//   gate         downloads the Toxiproxy server from the artifacts container and runs it.
import { everyMinute, expiryTimer, installUnit, scriptHeader, sq, unitFile, workloadSetup, WorkloadSetup, writeFile } from "../cloud/boot";

export const TOXIPROXY_ADMIN_PORT = 8474;
export const BLOB_API_VERSION = "2021-08-06";

export interface CommonBoot {
  ttlSeconds: number;
  /** Client id of the machine's user-assigned identity (IMDS needs it when several could apply). */
  clientId: string;
  /** https://<account>.blob.core.windows.net */
  blobEndpoint: string;
  recordContainer: string;
  logPrefix: string;
}

/** Shell function `token <resource>`: an access token for this machine's identity. */
function tokenFunction(clientId: string): string {
  return [
    "token() {",
    `  curl -sf -H Metadata:true "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&client_id=${clientId}&resource=$1" | sed -n 's/.*"access_token":"\\([^"]*\\)".*/\\1/p'`,
    "}",
  ].join("\n");
}

function logShipper(b: CommonBoot): string {
  const url = `${b.blobEndpoint.replace(/\/$/, "")}/${b.recordContainer}/${b.logPrefix}`;
  const script = [
    "#!/bin/bash",
    "set -euo pipefail",
    tokenFunction(b.clientId),
    "state=/var/lib/log-shipper/cursor",
    "mkdir -p /var/lib/log-shipper",
    "args=(-o json --no-pager --show-cursor)",
    '[ -s "$state" ] && args+=(--after-cursor "$(cat "$state")")',
    "out=$(mktemp)",
    `trap 'rm -f "$out"' EXIT`,
    'journalctl "${args[@]}" > "$out" || true',
    `cursor=$(tail -n 1 "$out" | sed -n 's/^-- cursor: //p')`,
    '[ -n "$cursor" ] || exit 0',
    `sed -i '$d' "$out"`,
    `if [ -s "$out" ]; then`,
    `  curl -sf -X PUT -H "Authorization: Bearer $(token https://storage.azure.com/)" -H "x-ms-version: ${BLOB_API_VERSION}" -H "x-ms-blob-type: BlockBlob" --data-binary @"$out" ${sq(url)}"$(date -u +%Y%m%dT%H%M%SZ)-$(hostname).jsonl"`,
    "fi",
    // The cursor moves only after a successful upload (set -e), so nothing is skipped.
    'echo "$cursor" > "$state"',
  ].join("\n");
  return [writeFile("/usr/local/sbin/log-shipper", script, { mode: "0755" }), everyMinute("log-shipper", "Ship the journal to the record", "/usr/local/sbin/log-shipper")].join("\n");
}

export function renderWorkloadBoot(b: CommonBoot & WorkloadSetup): string {
  return [scriptHeader(), expiryTimer(b.ttlSeconds), logShipper(b), workloadSetup(b), ""].join("\n");
}

export interface GateBoot extends CommonBoot {
  artifactsContainer: string;
  toxiproxyBlob: string;
  proxies: { name: string; listen: string; upstream: string; enabled: boolean }[];
}

export function renderGateBoot(b: GateBoot): string {
  const blob = `${b.blobEndpoint.replace(/\/$/, "")}/${b.artifactsContainer}/${b.toxiproxyBlob}`;
  const unit = unitFile(
    "Egress gate (Toxiproxy)",
    // The admin API listens on loopback only: chaos schedules run on the gate, never from the workload.
    ["User=toxiproxy", `ExecStart=/usr/local/bin/toxiproxy-server -host 127.0.0.1 -port ${TOXIPROXY_ADMIN_PORT} -config /etc/toxiproxy.json`, "AmbientCapabilities=CAP_NET_BIND_SERVICE", "Restart=always"],
    { wantedBy: "multi-user.target", afterNetwork: true },
  );
  return [
    scriptHeader(),
    expiryTimer(b.ttlSeconds),
    logShipper(b),
    tokenFunction(b.clientId),
    `curl -sf -H "Authorization: Bearer $(token https://storage.azure.com/)" -H "x-ms-version: ${BLOB_API_VERSION}" -o /usr/local/bin/toxiproxy-server ${sq(blob)}`,
    "chmod 0755 /usr/local/bin/toxiproxy-server",
    "id -u toxiproxy >/dev/null 2>&1 || useradd --system --no-create-home --shell /sbin/nologin toxiproxy",
    writeFile("/etc/toxiproxy.json", JSON.stringify(b.proxies, null, 2), { mode: "0644" }),
    installUnit("toxiproxy", unit),
    "",
  ].join("\n");
}

/** Targets run their own image; they only get the expiry timer. */
export function renderTargetBoot(ttlSeconds: number): string {
  return [scriptHeader(), expiryTimer(ttlSeconds), ""].join("\n");
}

export const toBase64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
