// Startup scripts (metadata `startup-script`) for the GCP instances. Pure functions over strings, so
// the rendered script is exactly what the instance receives and tests need no SDK.
//
// Shared with AWS (components/aws/userdata.ts, shell.ts): the script header with the in-guest expiry
// timer (power off `ttlSeconds` after boot) and the quoting helpers. GCP-specific here: the journal is
// shipped with the instance's own service-account token from the metadata server to Cloud Storage's
// JSON API — the gate straight through Private Google Access, the workload through the gate's record
// listener (the workload has no route to Google APIs). GCE runs startup scripts on every boot, so
// every step is idempotent. Nothing here mentions canaries or evaluations: the workload can read its
// own metadata.
import { sq, systemdQuote, writeFile } from "../aws/shell";
import { homeDirOf, renderTargetUserData } from "../aws/userdata";
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

function unit(description: string, service: string[], wantedBy = "multi-user.target"): string {
  return ["[Unit]", `Description=${description}`, "After=network-online.target", "", "[Service]", ...service, "", "[Install]", `WantedBy=${wantedBy}`].join("\n");
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
  return [
    writeFile("/usr/local/sbin/log-shipper", script, { mode: "0755" }),
    writeFile("/etc/systemd/system/log-shipper.service", unit("Ship the journal to the record", ["Type=oneshot", "ExecStart=/usr/local/sbin/log-shipper"])),
    writeFile("/etc/systemd/system/log-shipper.timer", ["[Unit]", "Description=Ship the journal every minute", "", "[Timer]", "OnBootSec=60s", "OnUnitActiveSec=60s", "", "[Install]", "WantedBy=timers.target"].join("\n")),
    "systemctl daemon-reload",
    "systemctl enable --now log-shipper.timer",
  ].join("\n");
}

/** The shared header + expiry timer (AWS's target script is exactly that), then the common steps. */
function start(b: CommonBoot): string {
  return [renderTargetUserData(b.ttlSeconds).trimEnd(), logShipper(b)].join("\n");
}

export interface WorkloadBoot extends CommonBoot {
  user: string;
  command: string[];
  env: Record<string, string>;
  pids: number;
  hosts: Record<string, string[]>;
  homeFiles: Record<string, string>;
}

export function renderWorkloadBoot(b: WorkloadBoot): string {
  const home = homeDirOf(b.user);
  const files = Object.entries(b.homeFiles).flatMap(([rel, content]) => {
    const dirs = rel.split("/").slice(0, -1).map((_, i, parts) => `${home}/${parts.slice(0, i + 1).join("/")}`);
    return [...dirs.map((d) => `install -d -m 0700 -o ${sq(b.user)} -g ${sq(b.user)} ${sq(d)}`), writeFile(`${home}/${rel}`, content, { mode: "0600", owner: b.user })];
  });
  const hosts = Object.entries(b.hosts).map(([ip, names]) => `grep -qxF ${sq(`${ip} ${names.join(" ")}`)} /etc/hosts || echo ${sq(`${ip} ${names.join(" ")}`)} >> /etc/hosts`);
  const service = unit("Workload", [
    `User=${b.user}`,
    `WorkingDirectory=${home}`,
    ...Object.entries(b.env).map(([k, v]) => `Environment=${systemdQuote(`${k}=${v}`)}`),
    `ExecStart=${b.command.map(systemdQuote).join(" ")}`,
    `TasksMax=${b.pids}`,
    "Restart=no",
  ]);
  return [
    start(b),
    ...(b.user === "root" ? [] : [`id -u ${sq(b.user)} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash ${sq(b.user)}`]),
    ...files,
    ...hosts,
    writeFile("/etc/systemd/system/workload.service", service),
    "systemctl daemon-reload",
    "systemctl enable --now workload.service",
    "",
  ].join("\n");
}

export interface GateBoot extends CommonBoot {
  artifactsBucket: string;
  toxiproxyKey: string;
  proxies: { name: string; listen: string; upstream: string; enabled: boolean }[];
  adminPort: number;
}

export function renderGateBoot(b: GateBoot): string {
  const service = unit("Egress gate (Toxiproxy)", [
    "User=toxiproxy",
    // The admin API listens on loopback only: chaos schedules run on the gate, never from the workload.
    `ExecStart=/usr/local/bin/toxiproxy-server -host 127.0.0.1 -port ${b.adminPort} -config /etc/toxiproxy.json`,
    "AmbientCapabilities=CAP_NET_BIND_SERVICE",
    "Restart=always",
  ]);
  const key = encodeURIComponent(b.toxiproxyKey);
  return [
    start(b),
    `[ -x /usr/local/bin/toxiproxy-server ] || ${storageCurl(undefined)} -o /usr/local/bin/toxiproxy-server "https://${STORAGE_HOST}/storage/v1/b/${b.artifactsBucket}/o/${key}?alt=media"`,
    "chmod 0755 /usr/local/bin/toxiproxy-server",
    "id -u toxiproxy >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin toxiproxy",
    writeFile("/etc/toxiproxy.json", JSON.stringify(b.proxies, null, 2), { mode: "0644" }),
    writeFile("/etc/systemd/system/toxiproxy.service", service),
    "systemctl daemon-reload",
    "systemctl enable --now toxiproxy.service",
    "",
  ].join("\n");
}

/** Targets run their own image and have no egress at all: the expiry timer only. */
export function renderTargetBoot(ttlSeconds: number): string {
  return renderTargetUserData(ttlSeconds);
}
