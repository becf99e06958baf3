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
import * as path from "path";
import { sq, systemdQuote, writeFile } from "../cloud/shell";
import { GUARD_CONFIG_PATH, GUARD_STATE_DIR, GuestGuardConfig, WORKLOAD_UNIT } from "./config";

export const GUARD_PREFIX = "/opt/hostagent";
export const GUARD_UNIT = "hostagent.service";
export const GUARD_ARTIFACTS = {
  node: { key: "guest/node", file: "node" },
  bundle: { key: "guest/hostagent.tar.gz", file: "hostagent.tar.gz" },
} as const;
const BUNDLE_TMP = `/tmp/${GUARD_ARTIFACTS.bundle.file}`;

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
    "Description=Host agent",
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
    `install -d -m 0700 ${sq(GUARD_STATE_DIR)} ${sq(path.posix.dirname(GUARD_CONFIG_PATH))}`,
    g.fetch(GUARD_ARTIFACTS.node.key, `${GUARD_PREFIX}/bin/node`),
    `chmod 0755 ${sq(`${GUARD_PREFIX}/bin/node`)}`,
    g.fetch(GUARD_ARTIFACTS.bundle.key, BUNDLE_TMP),
    `tar -xzf ${BUNDLE_TMP} -C ${sq(`${GUARD_PREFIX}/app`)} && rm -f ${BUNDLE_TMP}`,
    // Base64: the workload can read its own first-boot script; the guard's config (its rules, the
    // canary list) is not spelt out in it for a grep. Not a secret from a determined reader.
    `echo ${sq(encodeGuardConfig(g.config))} | base64 -d > ${sq(GUARD_CONFIG_PATH)}`,
    `chmod 0600 ${sq(GUARD_CONFIG_PATH)}`,
    writeFile(`/etc/systemd/system/${GUARD_UNIT}`, renderGuardUnit()),
    "systemctl daemon-reload",
    `systemctl enable --now ${GUARD_UNIT}`,
  ].join("\n");
}

/** The config as the first-boot script carries it (base64 of its JSON). */
export function encodeGuardConfig(config: GuestGuardConfig): string {
  return Buffer.from(JSON.stringify(config), "utf8").toString("base64");
}

/**
 * What a first-boot script installs of the guard, read back from the script alone (the invariant
 * facts read the resource graph with it): the config it writes, and what of the install is missing.
 */
export function readGuardInstall(script: string): { config?: GuestGuardConfig; missing: string[]; fetches: string[] } {
  const missing: string[] = [];
  const m = new RegExp(`^echo '([A-Za-z0-9+/=]+)' \\| base64 -d > '${GUARD_CONFIG_PATH.replace(/[.]/g, "\\.")}'$`, "m").exec(script);
  let config: GuestGuardConfig | undefined;
  if (m) {
    try {
      config = JSON.parse(Buffer.from(m[1], "base64").toString("utf8"));
    } catch {
      missing.push("a config that parses");
    }
  } else missing.push(`the config (${GUARD_CONFIG_PATH})`);
  const lines = script.split("\n");
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  if (at(new RegExp(`^cat > '/etc/systemd/system/${esc(GUARD_UNIT)}' <<`)) < 0) missing.push(`the unit ${GUARD_UNIT}`);
  const started = at(new RegExp(`^systemctl enable --now ${esc(GUARD_UNIT)}$`));
  if (started < 0) missing.push(`starting ${GUARD_UNIT}`);
  const workloadStarted = at(new RegExp(`^systemctl enable --now ${esc(WORKLOAD_UNIT)}$`));
  if (workloadStarted >= 0 && started >= 0 && workloadStarted < started) missing.push(`the guard started before ${WORKLOAD_UNIT}`);
  const unitAt = at(new RegExp(`^cat > '/etc/systemd/system/${esc(WORKLOAD_UNIT)}' <<`));
  if (unitAt >= 0) {
    const end = lines.findIndex((l, i) => i > unitAt && /^EOF_[0-9a-f]+$/.test(l));
    const unit = lines.slice(unitAt, end < 0 ? undefined : end);
    for (const want of workloadUnitGuardLines({ pids: 0, memoryBytes: 0 }).unit) if (!unit.includes(want)) missing.push(`${want} in ${WORKLOAD_UNIT}`);
  }
  const fetches = Object.values(GUARD_ARTIFACTS).filter((a) => lines.some((l) => l.includes(a.key) || l.includes(encodeURIComponent(a.key)))).map((a) => a.key);
  for (const a of Object.values(GUARD_ARTIFACTS)) if (!fetches.includes(a.key)) missing.push(`fetching ${a.key}`);
  return { config, missing, fetches };
}

/** The script with its guard config edited (for the conformance table's breakages). */
export function withGuardConfig(script: string, edit: (c: GuestGuardConfig) => GuestGuardConfig): string {
  const r = readGuardInstall(script);
  if (!r.config) throw new Error("the script installs no guard config");
  return script.replace(encodeGuardConfig(r.config), encodeGuardConfig(edit(r.config)));
}

/** The script without the guard's install (from creating its directories to starting it). */
export function withoutGuardInstall(script: string): string {
  const lines = script.split("\n");
  const from = lines.indexOf(`install -d -m 0755 ${sq(`${GUARD_PREFIX}/bin`)} ${sq(`${GUARD_PREFIX}/app`)}`);
  const to = lines.indexOf(`systemctl enable --now ${GUARD_UNIT}`);
  if (from < 0 || to < from) throw new Error("the script has no guard install");
  return [...lines.slice(0, from), ...lines.slice(to + 1)].join("\n");
}

/**
 * A guard config without its metadata filter, the workload's uid given the metadata server as a gate
 * entry instead (the shape before issue #8's filter): the conformance table's `guard-no-metadata-filter`.
 */
export function withoutMetadataFilter(c: GuestGuardConfig): GuestGuardConfig {
  const m = c.nft.metadata;
  const { metadata: _dropped, ...nft } = c.nft;
  return { ...c, nft: { ...nft, gate: [...nft.gate, { upstream: "metadata", address: m?.upstream.address ?? "169.254.169.254", port: m?.upstream.port ?? 80 }] } };
}
