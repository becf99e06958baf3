// Installing the in-guest guard from a VM's first-boot script — the one function every VM backend
// (AWS user data, GCP startup script, Azure custom data) calls: `renderGuestGuardInstall`. The cloud
// says only how a file comes out of its private artifacts store (`fetch`: a shell command that writes
// an artifact to a path, e.g. `aws s3 cp s3://… <dest>`); the rest — where the guard lives, its
// config, its unit, the workload unit's dependency on it — is the same on every cloud.
//
// Artifacts (built by bin/build-guest-guard, see docs/guest-guard.md):
//   GUARD_ARTIFACTS.node     a Node.js (>= 20) linux binary for the VM's architecture
//   GUARD_ARTIFACTS.bundle   airlock-guard.tar.gz: the guard's JavaScript (components/guest/main.ts and
//                            the shared modules it imports, compiled by tsc)
// Node, not python3: the guard *is* the local backend's TypeScript (canary content, kill-rule judge,
// record chain), so it runs where TypeScript runs; python3 (on every supported image: AL2023, Debian,
// Ubuntu) is used only by the shared inotify watcher and record-lock helper, as on a host.
import { sq, systemdQuote, writeFile } from "../cloud/shell";
import { GUARD_CONFIG_PATH, GUARD_STATE_DIR, GuestGuardConfig, WORKLOAD_UNIT } from "./config";

export const GUARD_PREFIX = "/opt/airlock-guard";
export const GUARD_UNIT = "airlock-guard.service";
export const GUARD_ARTIFACTS = {
  node: { key: "guest/node", file: "node" },
  bundle: { key: "guest/airlock-guard.tar.gz", file: "airlock-guard.tar.gz" },
} as const;
/** The entry point inside the bundle. */
export const GUARD_ENTRY = "components/guest/main.js";

/**
 * The guard's unit. Root, restarted whenever it exits, refused to `systemctl stop`, never picked by
 * the OOM killer. The workload's user cannot stop it: a system unit is stopped only by root (polkit's
 * default for org.freedesktop.systemd1.manage-units is auth_admin) and a root process cannot be
 * signalled by another uid; RefuseManualStop makes even root's casual `systemctl stop` fail.
 */
export function renderGuardUnit(o: { prefix?: string; config?: string } = {}): string {
  const prefix = o.prefix ?? GUARD_PREFIX;
  return [
    "[Unit]",
    "Description=Sandbox guard",
    "DefaultDependencies=yes",
    "Before=" + WORKLOAD_UNIT,
    "RefuseManualStop=yes",
    "",
    "[Service]",
    "Type=notify",
    "NotifyAccess=all",
    "User=root",
    `ExecStart=${[`${prefix}/bin/node`, `${prefix}/app/${GUARD_ENTRY}`, o.config ?? GUARD_CONFIG_PATH].map(systemdQuote).join(" ")}`,
    "Restart=always",
    "RestartSec=1s",
    "OOMScoreAdjust=-1000",
    "TimeoutStartSec=120s",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
  ].join("\n");
}

/** The argv systemd runs for the guard (the unit's ExecStart, unquoted), for tests and diagnostics. */
export function guardExecStart(unit: string): string[] {
  const line = unit.split("\n").find((l) => l.startsWith("ExecStart="))!;
  return [...line.slice("ExecStart=".length).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\(.)/g, "$1"));
}

/** Lines for the workload's unit: it runs only while the guard runs, and in a bounded cgroup. */
export function workloadUnitGuardLines(o: { pids: number; memoryBytes: number }): { unit: string[]; service: string[] } {
  return {
    unit: [`Requires=${GUARD_UNIT}`, `After=${GUARD_UNIT}`, `BindsTo=${GUARD_UNIT}`],
    service: [`TasksMax=${o.pids}`, `MemoryMax=${o.memoryBytes}`, "MemorySwapMax=0", "OOMPolicy=continue"],
  };
}

export interface GuardInstall {
  config: GuestGuardConfig;
  /** Shell command writing the artifact `key` to `dest` (the cloud's private artifacts store). */
  fetch: (key: string, dest: string) => string;
}

/** Shell lines that install and start the guard; run them before the workload's unit is enabled. */
export function renderGuestGuardInstall(g: GuardInstall): string {
  return [
    `install -d -m 0755 ${sq(`${GUARD_PREFIX}/bin`)} ${sq(`${GUARD_PREFIX}/app`)}`,
    `install -d -m 0700 ${sq(GUARD_STATE_DIR)} /etc/airlock-guard`,
    g.fetch(GUARD_ARTIFACTS.node.key, `${GUARD_PREFIX}/bin/node`),
    `chmod 0755 ${sq(`${GUARD_PREFIX}/bin/node`)}`,
    g.fetch(GUARD_ARTIFACTS.bundle.key, "/tmp/airlock-guard.tar.gz"),
    `tar -xzf /tmp/airlock-guard.tar.gz -C ${sq(`${GUARD_PREFIX}/app`)} && rm -f /tmp/airlock-guard.tar.gz`,
    writeFile(GUARD_CONFIG_PATH, JSON.stringify(g.config, null, 2), { mode: "0600" }),
    writeFile(`/etc/systemd/system/${GUARD_UNIT}`, renderGuardUnit()),
    "systemctl daemon-reload",
    `systemctl enable --now ${GUARD_UNIT}`,
  ].join("\n");
}
