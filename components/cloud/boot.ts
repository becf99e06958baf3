// First-boot scripts of the VM backends (AWS user data, GCP startup script, Azure custom data), written
// once here. A cloud says only how an instance reaches its two stores (`StoreAccess`): how a file
// becomes an object under the instance's prefix of the record store, and how an artifact comes out of
// the private artifacts store. Everything else is the same on every cloud:
//   every instance   the record helper (/usr/local/sbin/record-put) and the journal shipper on it;
//   workload         the non-root user, its home files, upstream names mapped to the gate, then the
//                    in-guest guard (components/guest/: kill rules, canaries, guest firewall, the TTL
//                    at the absolute expiry), then the workload's unit, which runs only under the guard;
//   gate             the expiry timer (no guard runs there) and the Toxiproxy server;
//   targets          the expiry timer only.
// Pure functions over plain strings. The scripts say nothing about evaluations; what the workload
// could learn from its own bootstrap is listed in docs/guest-guard.md.
import { sq, systemdQuote, writeFile } from "./shell";
import type { GuestGuardConfig } from "../guest/config";
import { renderGuestGuardInstall, workloadUnitGuardLines } from "../guest/install";

export { sq, systemdQuote, writeFile };

export const TOXIPROXY_ADMIN_PORT = 8474;
/** Uploads a file (or `-`: stdin) as `<name>` under this instance's prefix of the record store. */
export const RECORD_PUT = "/usr/local/sbin/record-put";

/** How one cloud's instance reaches its record store and its artifacts store: the only cloud-specific part. */
export interface StoreAccess {
  /**
   * Shell lines every helper script starts with, and the first-boot script too, before any
   * `getArtifact` (e.g. a function that gets a token for the instance's identity).
   */
  prelude?: string;
  /** Shell command uploading the file "$src" as the object "$name" (relative to this instance's record prefix). */
  putRecord: string;
  /** Shell command writing the artifact `key` to `dest` (an absolute path). */
  getArtifact(key: string, dest: string): string;
}

export function scriptHeader(): string {
  return ["#!/bin/bash", "set -euo pipefail", "umask 022"].join("\n");
}

/** A unit file: [Unit] with the description (and network-online ordering for services), [Service], [Install]. */
export function unitFile(description: string, service: string[], opts: { wantedBy?: string; afterNetwork?: boolean; timer?: string[]; unit?: string[] } = {}): string {
  const unit = ["[Unit]", `Description=${description}`, ...(opts.afterNetwork ? ["After=network-online.target", "Wants=network-online.target"] : []), ...(opts.unit ?? [])];
  const body = opts.timer ? ["[Timer]", ...opts.timer] : ["[Service]", ...service];
  return [...unit, "", ...body, ...(opts.wantedBy ? ["", "[Install]", `WantedBy=${opts.wantedBy}`] : [])].join("\n");
}

/** Installs and starts `<name>.service` (+ `<name>.timer` when given). */
export function installUnit(name: string, service: string, timer?: string): string {
  return [
    writeFile(`/etc/systemd/system/${name}.service`, service),
    ...(timer ? [writeFile(`/etc/systemd/system/${name}.timer`, timer)] : []),
    "systemctl daemon-reload",
    `systemctl enable --now ${name}.${timer ? "timer" : "service"}`,
  ].join("\n");
}

/**
 * Power off `ttlSeconds` after boot, first thing in the gate's and targets' scripts so that even a
 * failed bootstrap expires. Relative to boot on purpose: the script does not change between deploys.
 * The workload has no such timer: its guard powers it off at the absolute expiry (the same kill as
 * any rule, recorded). The platform ends every machine at the expiry too (each backend's ttl.ts).
 */
export function expiryTimer(ttlSeconds: number): string {
  return installUnit(
    "instance-expiry",
    unitFile("Power off at expiry", ["Type=oneshot", "ExecStart=/usr/bin/systemctl poweroff --force"]),
    unitFile("Power off at expiry", [], { wantedBy: "timers.target", timer: [`OnBootSec=${Math.max(60, Math.floor(ttlSeconds))}s`, "AccuracySec=1s"] }),
  );
}

/** A oneshot `<name>` run every minute by its timer. */
export function everyMinute(name: string, description: string, execStart: string): string {
  return installUnit(name, unitFile(description, ["Type=oneshot", `ExecStart=${execStart}`]), unitFile(description, [], { wantedBy: "timers.target", timer: ["OnBootSec=60s", "OnUnitActiveSec=60s"] }));
}

/** `record-put <file|-> <name>`: the one way anything on the instance writes to the record store. */
export function recordPut(access: StoreAccess): string {
  const script = [
    "#!/bin/bash",
    "set -euo pipefail",
    ...(access.prelude ? [access.prelude] : []),
    'src=$1; name=$2',
    'if [ "$src" = - ]; then src=$(mktemp); trap \'rm -f "$src"\' EXIT; cat > "$src"; fi',
    access.putRecord,
  ].join("\n");
  return writeFile(RECORD_PUT, script, { mode: "0755" });
}

/**
 * Every minute, the journal entries since the last run become one new object in the record store
 * (append-only: the instance may create objects under its own prefix and nothing else).
 */
export function logShipper(): string {
  const script = [
    "#!/bin/bash",
    "set -euo pipefail",
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
    `[ -s "$out" ] && ${RECORD_PUT} "$out" "$(date -u +%Y%m%dT%H%M%SZ)-$(hostname).jsonl"`,
    // The cursor moves only after a successful upload (set -e), so nothing is skipped.
    'echo "$cursor" > "$state"',
  ].join("\n");
  return [writeFile("/usr/local/sbin/log-shipper", script, { mode: "0755" }), everyMinute("log-shipper", "Ship the journal to the record", "/usr/local/sbin/log-shipper")].join("\n");
}

/** The record helper and the journal shipper (every instance with a record prefix gets both), then the prelude for what follows. */
export function recordShipping(access: StoreAccess): string {
  return [recordPut(access), logShipper(), ...(access.prelude ? [access.prelude] : [])].join("\n");
}

export interface ToxiproxyInstall {
  /** Key of the Toxiproxy server binary in the artifacts store. */
  key: string;
  proxies: { name: string; listen: string; upstream: string; enabled: boolean }[];
  adminPort?: number;
}

/** The gate's Toxiproxy: fetched from the artifacts store once, run as its own system user. */
export function toxiproxyInstall(access: StoreAccess, t: ToxiproxyInstall): string {
  const service = unitFile(
    "Egress gate (Toxiproxy)",
    [
      "User=toxiproxy",
      // The admin API listens on loopback only: chaos schedules run on the gate, never from the workload.
      `ExecStart=/usr/local/bin/toxiproxy-server -host 127.0.0.1 -port ${t.adminPort ?? TOXIPROXY_ADMIN_PORT} -config /etc/toxiproxy.json`,
      "AmbientCapabilities=CAP_NET_BIND_SERVICE",
      "Restart=always",
    ],
    { wantedBy: "multi-user.target", afterNetwork: true },
  );
  return [
    `[ -x /usr/local/bin/toxiproxy-server ] || ${access.getArtifact(t.key, "/usr/local/bin/toxiproxy-server")}`,
    "chmod 0755 /usr/local/bin/toxiproxy-server",
    "id -u toxiproxy >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin toxiproxy",
    writeFile("/etc/toxiproxy.json", JSON.stringify(t.proxies, null, 2), { mode: "0644" }),
    installUnit("toxiproxy", service),
  ].join("\n");
}

export function homeDirOf(user: string): string {
  return user === "root" ? "/root" : `/home/${user}`;
}

export interface WorkloadSetup {
  user: string;
  command: string[];
  env: Record<string, string>;
  pids: number;
  memoryBytes: number;
  /** Gate address -> names resolved to it. */
  hosts: Record<string, string[]>;
  /** Files planted in the user's home: path relative to home -> content. */
  homeFiles: Record<string, string>;
}

/** The workload setup a spec asks for (the same on every VM backend). */
export function workloadSetupOf(spec: { workload: { user: string; command: string[]; env: Record<string, string>; pids: number }; workloadMemoryBytes: number }, hosts: Record<string, string[]>, homeFiles: Record<string, string>): WorkloadSetup {
  const { user, command, env, pids } = spec.workload;
  return { user, command, env, pids, memoryBytes: spec.workloadMemoryBytes, hosts, homeFiles };
}

/** The workload's unit: its user, its command, bounded, and bound to the guard (started after it is armed). */
export function workloadUnit(w: WorkloadSetup): string {
  const guarded = workloadUnitGuardLines({ pids: w.pids, memoryBytes: w.memoryBytes });
  return unitFile(
    "Workload",
    [`User=${w.user}`, `WorkingDirectory=${homeDirOf(w.user)}`, ...Object.entries(w.env).map(([k, v]) => `Environment=${systemdQuote(`${k}=${v}`)}`), `ExecStart=${w.command.map(systemdQuote).join(" ")}`, ...guarded.service, "Restart=no"],
    { wantedBy: "multi-user.target", afterNetwork: true, unit: guarded.unit },
  );
}

/**
 * User, home files (private, owned by the user; planted once — a rerun on a later boot must not
 * touch files the guard watches), /etc/hosts entries, and the workload unit's file (enabled later,
 * once the guard is installed).
 */
export function workloadSetup(w: WorkloadSetup): string {
  const home = homeDirOf(w.user);
  const createUser = w.user === "root" ? [] : [`id -u ${sq(w.user)} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash ${sq(w.user)}`];
  const files = Object.entries(w.homeFiles).flatMap(([rel, content]) => {
    const dirs = rel.split("/").slice(0, -1).map((_, i, parts) => `${home}/${parts.slice(0, i + 1).join("/")}`);
    return [`if [ ! -e ${sq(`${home}/${rel}`)} ]; then`, ...dirs.map((d) => `install -d -m 0700 -o ${sq(w.user)} -g ${sq(w.user)} ${sq(d)}`), writeFile(`${home}/${rel}`, content, { mode: "0600", owner: w.user }), "fi"];
  });
  const hosts = Object.entries(w.hosts).map(([ip, names]) => `echo ${sq(`${ip} ${names.join(" ")}`)} >> /etc/hosts`);
  return [...createUser, ...files, ...hosts, writeFile("/etc/systemd/system/workload.service", workloadUnit(w))].join("\n");
}

export interface WorkloadBoot {
  access: StoreAccess;
  setup: WorkloadSetup;
  guard: GuestGuardConfig;
}

/**
 * The workload's script: record shipping, the workload's user and files, the guard (installed from
 * the artifacts store and armed: firewall loaded, canaries watched), and only then the workload.
 */
export function renderWorkloadScript(b: WorkloadBoot): string {
  return [
    scriptHeader(),
    recordShipping(b.access),
    workloadSetup(b.setup),
    renderGuestGuardInstall({ config: b.guard, fetch: (key, dest) => b.access.getArtifact(key, dest) }),
    "systemctl daemon-reload",
    "systemctl enable --now workload.service",
    "",
  ].join("\n");
}

/** What the gate's script needs beyond the cloud's store access (the same on every VM backend). */
export interface GateSetup {
  ttlSeconds: number;
  /** Key of the Toxiproxy server binary in the artifacts store. */
  toxiproxyKey: string;
  proxies: ToxiproxyInstall["proxies"];
  adminPort?: number;
}

/** The gate's script: expiry timer first, record shipping, Toxiproxy. */
export function renderGateScript(access: StoreAccess, g: GateSetup): string {
  return [scriptHeader(), expiryTimer(g.ttlSeconds), recordShipping(access), toxiproxyInstall(access, { key: g.toxiproxyKey, proxies: g.proxies, adminPort: g.adminPort }), ""].join("\n");
}

/** Targets run their own image and have no egress: the expiry timer only. */
export function renderTargetScript(ttlSeconds: number): string {
  return [scriptHeader(), expiryTimer(ttlSeconds), ""].join("\n");
}
