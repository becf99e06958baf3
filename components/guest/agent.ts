// The in-guest guard: the spec's guard inside a VM (AWS, GCP, Azure), built from the local backend's
// own parts so that a cloud sandbox is guarded like a local one —
//   canaries     components/local/canary.ts: the same files, modes, mtimes and content (plantCanaries),
//                the same inotify watcher (watchCanaries), the same canary endpoint the fake
//                credentials point at (startCanaryEndpoint, on loopback here)
//   kill rules   components/guard/judge.ts: the same thresholds, record events and trip details
//   counters     the local backend's nft counter names (DENIED_COUNTERS) in the guest's own table
//                (./nft.ts), plus the namespace's no-route counters, read as the local guard reads them
//   metadata     the workload reaches the metadata server only through ./metadata-filter.ts, a
//                process of its own uid the guard supervises (./metadata-supervisor.ts): the cloud's
//                allowlist passes, every other request is refused, recorded ("metadata-refused") and
//                counted with the denied egress
//   limits       the workload's cgroup (systemd's workload.service), components/host/cgroup.ts, v1 or v2
//   record       components/record/chain-log.ts: the same hash-chained entries, each one also shipped
//                to the record store (the cloud's retention-locked bucket) as it is written
// A kill: the workload's cgroup is killed at once (nothing it does meanwhile matters), the reason is
// recorded and shipped (waiting at most record.shipTimeoutMs), then the VM powers off — and its
// shutdown behaviour deletes it. The TTL is the same kill with rule "ttl" at the absolute expiry.
// The guard runs as root from a systemd unit the workload's user cannot stop (./install.ts).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import { ChainLog, RecordEntry } from "../record/chain-log";
import { Cgroup, detectCgroupHost } from "../host/cgroup";
import { run } from "../host/exec";
import { canaryFileAt, plantCanaries, startCanaryEndpoint, watchCanaries, CanaryEndpoint, CanaryFile, CanaryWatcher } from "../local/canary";
import { DENIED_COUNTERS, readCounters, sumPackets } from "../local/nft";
import { KillRuleJudge, LimitEvents, noRouteCount, Trip } from "../guard/judge";
import type { GuestGuardConfig } from "./config";
import { guestRuleset } from "./nft";
import type { MetadataRefusal } from "./metadata-filter";
import { MetadataFilterProcess } from "./metadata-supervisor";

/** Refusals recorded one by one; past this only their count is kept (in the denied-egress total): a loop must not flood the record. */
const METADATA_REFUSALS_RECORDED = 50;

interface GuardState {
  planted: CanaryFile[];
  base: LimitEvents;
  startedAt: string;
}

const readOr = (file: string) => {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
};

/** The uid of a user from /etc/passwd (the VM's first boot created it). */
export function uidOf(user: string, fallback?: number): number {
  for (const line of readOr("/etc/passwd").split("\n")) {
    const f = line.split(":");
    if (f[0] === user && f[2]) return Number(f[2]);
  }
  if (fallback !== undefined) return fallback;
  throw new Error(`workload.user '${user}' has no passwd entry: the first-boot script creates it before the guard starts`);
}

export class GuestGuard {
  private readonly log: ChainLog;
  private readonly judge: KillRuleJudge;
  private readonly cgroup: Cgroup;
  private readonly stateFile: string;
  private unshipped: RecordEntry[] = [];
  private shipping: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ttlTimer: NodeJS.Timeout | undefined;
  private watcher: CanaryWatcher | undefined;
  private endpoint: CanaryEndpoint | undefined;
  private metadataFilter: MetadataFilterProcess | undefined;
  /** Requests the metadata filter refused: denied egress of the workload's, like a rejected connection. */
  private metadataRefused = 0;
  private lastNet = "";
  private polling = false;
  private killing: Promise<void> | undefined;

  constructor(private readonly cfg: GuestGuardConfig) {
    fs.mkdirSync(path.dirname(cfg.record.file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(cfg.record.file, "", { flag: "a", mode: 0o600 });
    this.log = new ChainLog(cfg.record.file);
    this.stateFile = path.join(path.dirname(cfg.record.file), "state.json");
    this.cgroup = new Cgroup(detectCgroupHost(), cfg.workload.cgroup);
    this.judge = new KillRuleJudge(cfg.rules, { pids: cfg.workload.pids, memory: cfg.workload.memory }, (type, data) => this.note(type, data), (t) => void this.kill(t));
  }

  /** Appends to the record and queues the entry for the record store; never throws. */
  note(type: string, data: Record<string, unknown>): void {
    try {
      this.unshipped.push(this.log.append(type, data));
      void this.ship();
    } catch (e) {
      process.stderr.write(`airlock-guard: could not record '${type}': ${(e as Error).message}\n`);
    }
  }

  /** Ships queued entries in order; a failure is retried (5 s later), never skipped. */
  private ship(): Promise<void> {
    if (this.shipping) return this.shipping;
    this.shipping = (async () => {
      while (this.unshipped.length > 0) {
        const e = this.unshipped[0];
        const ok = await this.shipOne(e);
        if (!ok) {
          if (!this.retry) this.retry = setTimeout(() => ((this.retry = undefined), void this.ship()), 5000);
          return;
        }
        this.unshipped.shift();
      }
    })().finally(() => (this.shipping = undefined));
    return this.shipping;
  }

  private shipOne(e: RecordEntry): Promise<boolean> {
    const argv = this.cfg.record.ship.map((a) => a.replace(/\{seq\}/g, String(e.seq).padStart(8, "0")).replace(/\{type\}/g, e.type));
    return new Promise((resolve) => {
      const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "ignore", "pipe"] });
      let stderr = "";
      const timer = setTimeout(() => child.kill("SIGKILL"), this.cfg.record.shipTimeoutMs);
      child.stderr!.on("data", (d) => (stderr = (stderr + d).slice(-1000)));
      child.on("error", (err) => {
        clearTimeout(timer);
        process.stderr.write(`airlock-guard: shipping entry ${e.seq}: ${err.message}\n`);
        resolve(false);
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        if (code !== 0) process.stderr.write(`airlock-guard: shipping entry ${e.seq} failed (${code}): ${stderr.trim()}\n`);
        resolve(code === 0);
      });
      child.stdin!.on("error", () => undefined);
      child.stdin!.end(JSON.stringify(e) + "\n");
    });
  }

  /** Waits until every entry reached the record store, or `ms` passed. Returns whether all did. */
  async drain(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.unshipped.length > 0 && Date.now() < deadline) {
      await Promise.race([this.ship(), new Promise((r) => setTimeout(r, Math.min(500, Math.max(0, deadline - Date.now()))))]);
      if (this.unshipped.length > 0 && !this.shipping) await new Promise((r) => setTimeout(r, 200));
    }
    return this.unshipped.length === 0;
  }

  private loadState(): GuardState | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.stateFile, "utf8"));
    } catch {
      return undefined;
    }
  }

  /**
   * Loads the guest firewall, plants (first start) or re-watches (restart) the canaries, arms the
   * TTL and the polling. Resolves once everything is watched: the unit reports ready then, and the
   * workload's unit starts only after that (After=/Requires= in ./install.ts).
   */
  async start(): Promise<void> {
    const c = this.cfg;
    const uid = uidOf(c.workload.user, c.workload.uid);
    const r = await run("nft", ["-f", "-"], { input: `table inet ${c.nft.table}\ndelete table inet ${c.nft.table}\n${guestRuleset(c.nft, uid)}`, allowFail: true });
    if (r.code !== 0) throw new Error(`the guest firewall (nft table inet ${c.nft.table}) was refused: ${r.stderr.trim()}`);
    // Before the workload starts (the unit is ready only after start()): its metadata connections are
    // already redirected here, and with no filter they would find nothing listening.
    if (c.nft.metadata) {
      const m = c.nft.metadata;
      if (m.uid === undefined) throw new Error("nft.metadata.uid: missing — the metadata filter runs as its own non-root uid (METADATA_FILTER_UID), never in the guard's root process");
      this.metadataFilter = new MetadataFilterProcess({ ...m, uid: m.uid }, { refused: (r) => this.metadataRefusal(r), note: (type, data) => this.note(type, data) });
      await this.metadataFilter.start();
    }

    const previous = this.loadState();
    let planted = previous?.planted ?? [];
    if (c.canaries.enabled) {
      this.endpoint = await startCanaryEndpoint("127.0.0.1", (from, request) => this.judge.canaryTouched("canary-credential-used", { from, request }), c.canaries.endpointPort);
      if (!previous) {
        // What the first-boot script planted (the cloud's own bait, e.g. a real key that grants
        // nothing) is watched as it is; the rest is planted here, as the local backend plants it.
        const already = new Set((c.canaries.planted ?? []).filter((rel) => fs.existsSync(path.join(c.workload.home, rel))));
        const fresh = c.canaries.files.filter((rel) => !already.has(rel));
        planted = [
          ...(fresh.length ? plantCanaries(c.workload.home, fresh, false, `http://127.0.0.1:${c.canaries.endpointPort}`, { user: c.workload.user, hostname: os.hostname() }) : []),
          ...[...already].map((rel) => canaryFileAt(c.workload.home, rel)),
        ];
        for (const [rel, text] of Object.entries(c.canaries.append ?? {})) {
          const f = planted.find((p) => p.rel === rel);
          if (f) fs.appendFileSync(f.hostPath, text.startsWith("\n") ? text : `\n${text}`);
        }
      }
      this.watcher = await watchCanaries(
        planted,
        (t) => this.judge.canaryTouched("canary-touched", { file: t.file, events: t.events }),
        (why) => this.judge.trip({ rule: "canary", detail: `the canary watcher stopped (${why}): the canaries are no longer watched` }),
      );
    }
    const stats = this.cgroup.stats();
    const base = previous?.base ?? { pidsMaxEvents: stats.pidsMaxEvents, oomKill: stats.memoryEvents.oomKill };
    this.judge.baseline(base);
    if (!previous) fs.writeFileSync(this.stateFile, JSON.stringify({ planted, base, startedAt: new Date().toISOString() } satisfies GuardState), { mode: 0o600 });
    this.note(previous ? "guard-restarted" : "guard-started", {
      sandbox: c.sandboxId,
      rules: c.rules.map((r) => r.on),
      canaries: planted.map((p) => p.rel),
      expiresAt: c.expiresAt,
      gate: c.nft.gate.map((g) => `${g.address}:${g.port}`),
      metadataAllowed: c.nft.metadata ? c.nft.metadata.allow.map((a) => `${a.method} ${a.path}`) : null,
    });

    const msLeft = Math.max(0, new Date(c.expiresAt).getTime() - Date.now());
    // setTimeout holds at most 2^31-1 ms (~24.8 days); a longer TTL re-arms.
    const armTtl = (left: number) => {
      this.ttlTimer = setTimeout(() => (Date.now() >= new Date(c.expiresAt).getTime() ? this.judge.ttlExpired(c.ttl, c.expiresAt) : armTtl(new Date(c.expiresAt).getTime() - Date.now())), Math.min(left, 2 ** 31 - 1));
    };
    armTtl(msLeft);
    this.timer = setInterval(() => void this.poll(), c.pollMs);
  }

  private metadataRefusal(m: MetadataRefusal): void {
    this.metadataRefused++;
    if (this.metadataRefused <= METADATA_REFUSALS_RECORDED) this.note("metadata-refused", { ...m, count: this.metadataRefused });
    // The next poll re-reads the counters and judges the new total.
    this.lastNet = "";
  }

  /** Limits every poll; the nft counters only when the namespace's network counters moved. */
  private async poll(): Promise<void> {
    if (this.polling || this.killing) return;
    this.polling = true;
    try {
      const s = this.cgroup.stats();
      this.judge.limitEvents({ pidsMaxEvents: s.pidsMaxEvents, oomKill: s.memoryEvents.oomKill });
      const snmp = readOr("/proc/self/net/snmp");
      const snmp6 = readOr("/proc/self/net/snmp6");
      if (snmp + snmp6 === this.lastNet) return;
      this.lastNet = snmp + snmp6;
      const counters = await readCounters(undefined, this.cfg.nft.table);
      const rejected: Record<string, number> = Object.fromEntries(DENIED_COUNTERS.map((n) => [n.replace(/^denied_/, ""), counters[n]?.packets ?? 0]));
      if (this.cfg.nft.metadata) rejected.metadata = this.metadataRefused;
      // No-route attempts are the workload's only when nothing else in the VM makes them; a VM has a
      // default route, so they are rare — counted like the local guard counts them.
      const noRoute = noRouteCount(snmp, snmp6);
      this.judge.egressDenied({ total: sumPackets(counters, DENIED_COUNTERS) + noRoute + this.metadataRefused, noRoute, rejected });
    } catch (e) {
      this.note("guard-error", { error: (e as Error).message });
    } finally {
      this.polling = false;
    }
  }

  /** Kill the workload now, record why, reach the record store (bounded), power off. */
  kill(t: Trip): Promise<void> {
    if (!this.killing) this.killing = this.killAndPowerOff(t);
    return this.killing;
  }

  private async killAndPowerOff(t: Trip): Promise<void> {
    this.note("kill", { rule: t.rule, detail: t.detail });
    try {
      const processes = this.cgroup.processes().length;
      const stats = this.cgroup.stats();
      await this.cgroup.kill();
      this.note("killed", { rule: t.rule, processesKilled: processes, cgroup: stats });
    } catch (e) {
      this.note("kill-error", { error: (e as Error).message });
    }
    const shipped = await this.drain(this.cfg.record.shipTimeoutMs);
    // The power-off is noted locally; it is shipped if the store answers in time (the kill never waits on it).
    this.note("power-off", { rule: t.rule, recordShipped: shipped, command: this.cfg.powerOff });
    await this.drain(Math.min(3000, this.cfg.record.shipTimeoutMs));
    this.stop();
    await new Promise<void>((resolve) => {
      const child = spawn(this.cfg.powerOff[0], this.cfg.powerOff.slice(1), { stdio: "inherit" });
      child.on("error", (e) => (process.stderr.write(`airlock-guard: power-off failed: ${e.message}\n`), resolve()));
      child.on("close", () => resolve());
    });
  }

  /** Why the guard tripped, once it has. */
  get tripped(): boolean {
    return this.judge.hasTripped;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.ttlTimer) clearTimeout(this.ttlTimer);
    if (this.retry) clearTimeout(this.retry);
    this.watcher?.stop();
    void this.endpoint?.close();
    this.metadataFilter?.stop();
  }
}
