// First-boot scripts for the sandbox's instances. Pure functions over plain strings, so they are tested
// without the SDK and the rendered script is exactly what the instance receives.
//
// What every instance gets, in this order (the TTL first, so that even a failed bootstrap expires):
//   1. an expiry timer: power off `ttlSeconds` after boot; the instance's shutdown behaviour is
//      `terminate`, so powering off deletes it. Relative to boot on purpose: the script does not
//      change between deploys (a changed script would replace the instance). The absolute deadline is
//      enforced outside the instance by the platform schedule (ttl.ts).
//   2. a log shipper: every minute, new journal entries go to the record bucket as new objects
//      (append-only: the role may PutObject under its own prefix and nothing else).
// The scripts say nothing about canaries or evaluations: the workload can read its own user data.
import { sq, systemdQuote, writeFile } from "../cloud/shell";

export interface CommonBoot {
  region: string;
  ttlSeconds: number;
  /** Record bucket name and this instance's prefix in it (ending in '/'). */
  logBucket: string;
  logPrefix: string;
}

export interface WorkloadBoot extends CommonBoot {
  user: string;
  command: string[];
  env: Record<string, string>;
  pids: number;
  /** Host names resolved to the gate, e.g. { "10.77.64.10": ["model-api", "bedrock-runtime.us-east-2.amazonaws.com"] }. */
  hosts: Record<string, string[]>;
  /** Files planted in the user's home: path relative to home -> content. */
  homeFiles: Record<string, string>;
}

export interface GateBoot extends CommonBoot {
  artifactsBucket: string;
  /** Key of the Toxiproxy server binary in the artifacts bucket. */
  toxiproxyKey: string;
  proxies: { name: string; listen: string; upstream: string; enabled: boolean }[];
  adminPort: number;
}

export const TOXIPROXY_ADMIN_PORT = 8474;

function header(): string {
  return ["#!/bin/bash", "set -euo pipefail", "umask 022"].join("\n");
}

function expiryTimer(ttlSeconds: number): string {
  return [
    writeFile("/etc/systemd/system/instance-expiry.service", ["[Unit]", "Description=Power off at expiry", "", "[Service]", "Type=oneshot", "ExecStart=/usr/bin/systemctl poweroff --force"].join("\n")),
    writeFile("/etc/systemd/system/instance-expiry.timer", ["[Unit]", "Description=Power off at expiry", "", "[Timer]", `OnBootSec=${Math.max(60, Math.floor(ttlSeconds))}s`, "AccuracySec=1s", "", "[Install]", "WantedBy=timers.target"].join("\n")),
    "systemctl daemon-reload",
    "systemctl enable --now instance-expiry.timer",
  ].join("\n");
}

function logShipper(b: CommonBoot): string {
  const script = [
    "#!/bin/bash",
    "set -euo pipefail",
    "state=/var/lib/log-shipper/cursor",
    "mkdir -p /var/lib/log-shipper",
    "args=(-o json --no-pager --show-cursor)",
    '[ -s "$state" ] && args+=(--after-cursor "$(cat "$state")")',
    'out=$(mktemp)',
    'trap \'rm -f "$out"\' EXIT',
    'journalctl "${args[@]}" > "$out" || true',
    'cursor=$(tail -n 1 "$out" | sed -n \'s/^-- cursor: //p\')',
    '[ -n "$cursor" ] || exit 0',
    'sed -i \'$d\' "$out"',
    `[ -s "$out" ] && aws s3 cp "$out" ${sq(`s3://${b.logBucket}/${b.logPrefix}`)}"$(date -u +%Y%m%dT%H%M%SZ)-$(hostname).jsonl" --region ${sq(b.region)} --only-show-errors`,
    // The cursor moves only after a successful upload (set -e), so nothing is skipped.
    'echo "$cursor" > "$state"',
  ].join("\n");
  return [
    writeFile("/usr/local/sbin/log-shipper", script, { mode: "0755" }),
    writeFile("/etc/systemd/system/log-shipper.service", ["[Unit]", "Description=Ship the journal to the record", "", "[Service]", "Type=oneshot", "ExecStart=/usr/local/sbin/log-shipper"].join("\n")),
    writeFile("/etc/systemd/system/log-shipper.timer", ["[Unit]", "Description=Ship the journal every minute", "", "[Timer]", "OnBootSec=60s", "OnUnitActiveSec=60s", "", "[Install]", "WantedBy=timers.target"].join("\n")),
    "systemctl daemon-reload",
    "systemctl enable --now log-shipper.timer",
  ].join("\n");
}

export function homeDirOf(user: string): string {
  return user === "root" ? "/root" : `/home/${user}`;
}

export function renderWorkloadUserData(b: WorkloadBoot): string {
  const home = homeDirOf(b.user);
  const createUser = b.user === "root" ? [] : [`id -u ${sq(b.user)} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash ${sq(b.user)}`];
  const files = Object.entries(b.homeFiles).flatMap(([rel, content]) => {
    const path = `${home}/${rel}`;
    // Directories inside home belong to the user too (e.g. ~/.aws), with private permissions.
    const dirs = rel.split("/").slice(0, -1).map((_, i, parts) => `${home}/${parts.slice(0, i + 1).join("/")}`);
    return [...dirs.map((d) => `install -d -m 0700 -o ${sq(b.user)} -g ${sq(b.user)} ${sq(d)}`), writeFile(path, content, { mode: "0600", owner: b.user })];
  });
  const hosts = Object.entries(b.hosts).map(([ip, names]) => `echo ${sq(`${ip} ${names.join(" ")}`)} >> /etc/hosts`);
  const unit = systemdService("Workload", [
    `User=${b.user}`,
    `WorkingDirectory=${home}`,
    ...Object.entries(b.env).map(([k, v]) => `Environment=${systemdQuote(`${k}=${v}`)}`),
    `ExecStart=${b.command.map(systemdQuote).join(" ")}`,
    `TasksMax=${b.pids}`,
    "Restart=no",
  ]);
  return [
    header(),
    expiryTimer(b.ttlSeconds),
    logShipper(b),
    ...createUser,
    ...files,
    ...hosts,
    writeFile("/etc/systemd/system/workload.service", unit),
    "systemctl daemon-reload",
    "systemctl enable --now workload.service",
    "",
  ].join("\n");
}

/** A systemd service started once the network is up. */
function systemdService(description: string, service: string[]): string {
  return ["[Unit]", `Description=${description}`, "After=network-online.target", "Wants=network-online.target", "", "[Service]", ...service, "", "[Install]", "WantedBy=multi-user.target"].join("\n");
}

export function renderGateUserData(b: GateBoot): string {
  const unit = systemdService("Egress gate (Toxiproxy)", [
    "User=toxiproxy",
    // The admin API listens on loopback only: chaos schedules run on the gate, never from the workload.
    `ExecStart=/usr/local/bin/toxiproxy-server -host 127.0.0.1 -port ${b.adminPort} -config /etc/toxiproxy.json`,
    "AmbientCapabilities=CAP_NET_BIND_SERVICE",
    "Restart=always",
  ]);
  return [
    header(),
    expiryTimer(b.ttlSeconds),
    logShipper(b),
    `aws s3 cp ${sq(`s3://${b.artifactsBucket}/${b.toxiproxyKey}`)} /usr/local/bin/toxiproxy-server --region ${sq(b.region)} --only-show-errors`,
    "chmod 0755 /usr/local/bin/toxiproxy-server",
    "id -u toxiproxy >/dev/null 2>&1 || useradd --system --no-create-home --shell /sbin/nologin toxiproxy",
    writeFile("/etc/toxiproxy.json", JSON.stringify(b.proxies, null, 2), { mode: "0644" }),
    writeFile("/etc/systemd/system/toxiproxy.service", unit),
    "systemctl daemon-reload",
    "systemctl enable --now toxiproxy.service",
    "",
  ].join("\n");
}

/** Targets run their own image; they only get the expiry timer (their AMI may lack the AWS CLI). */
export function renderTargetUserData(ttlSeconds: number): string {
  return [header(), expiryTimer(ttlSeconds), ""].join("\n");
}
