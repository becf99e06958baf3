// First-boot script pieces that do not depend on the cloud: the in-guest expiry timer, systemd units,
// and the workload's setup (non-root user, planted home files, upstream names mapped to the gate, the
// workload service with its task limit). Pure functions over plain strings; each backend adds its own
// log shipper and artifact download (the only cloud-specific parts) and renders the whole script.
// The scripts say nothing about canaries or evaluations: the workload can read its own bootstrap.
// (AWS renders the same steps in aws/userdata.ts and can move onto this module.)
import { sq, systemdQuote, writeFile } from "./shell";

export { sq, systemdQuote, writeFile };

export function scriptHeader(): string {
  return ["#!/bin/bash", "set -euo pipefail", "umask 022"].join("\n");
}

/** A unit file: [Unit] with the description (and network-online ordering for services), [Service], [Install]. */
export function unitFile(description: string, service: string[], opts: { wantedBy?: string; afterNetwork?: boolean; timer?: string[] } = {}): string {
  const unit = ["[Unit]", `Description=${description}`, ...(opts.afterNetwork ? ["After=network-online.target", "Wants=network-online.target"] : [])];
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
 * Power off `ttlSeconds` after boot, first thing in every script so that even a failed bootstrap
 * expires. Relative to boot on purpose: the script does not change between deploys. The absolute
 * deadline is enforced outside the machine by the platform (each backend's ttl.ts).
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

export function homeDirOf(user: string): string {
  return user === "root" ? "/root" : `/home/${user}`;
}

export interface WorkloadSetup {
  user: string;
  command: string[];
  env: Record<string, string>;
  pids: number;
  /** Gate address -> names resolved to it. */
  hosts: Record<string, string[]>;
  /** Files planted in the user's home: path relative to home -> content. */
  homeFiles: Record<string, string>;
}

/** The workload setup a spec asks for (the same on every VM backend). */
export function workloadSetupOf(spec: { workload: { user: string; command: string[]; env: Record<string, string>; pids: number } }, hosts: Record<string, string[]>, homeFiles: Record<string, string>): WorkloadSetup {
  const { user, command, env, pids } = spec.workload;
  return { user, command, env, pids, hosts, homeFiles };
}

/** User, home files (private, owned by the user), /etc/hosts entries and the workload service. */
export function workloadSetup(w: WorkloadSetup): string {
  const home = homeDirOf(w.user);
  const createUser = w.user === "root" ? [] : [`id -u ${sq(w.user)} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash ${sq(w.user)}`];
  const files = Object.entries(w.homeFiles).flatMap(([rel, content]) => {
    const dirs = rel.split("/").slice(0, -1).map((_, i, parts) => `${home}/${parts.slice(0, i + 1).join("/")}`);
    return [...dirs.map((d) => `install -d -m 0700 -o ${sq(w.user)} -g ${sq(w.user)} ${sq(d)}`), writeFile(`${home}/${rel}`, content, { mode: "0600", owner: w.user })];
  });
  const hosts = Object.entries(w.hosts).map(([ip, names]) => `echo ${sq(`${ip} ${names.join(" ")}`)} >> /etc/hosts`);
  const unit = unitFile(
    "Workload",
    [`User=${w.user}`, `WorkingDirectory=${home}`, ...Object.entries(w.env).map(([k, v]) => `Environment=${systemdQuote(`${k}=${v}`)}`), `ExecStart=${w.command.map(systemdQuote).join(" ")}`, `TasksMax=${w.pids}`, "Restart=no"],
    { wantedBy: "multi-user.target", afterNetwork: true },
  );
  return [...createUser, ...files, ...hosts, installUnit("workload", unit)].join("\n");
}
