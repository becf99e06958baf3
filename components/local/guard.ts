// The guard: runs in the process that owns the sandbox (the `airlock run` process, or the shared
// supervisor for detached sandboxes) and turns what the kernel counts into records and kill decisions:
//
//   canary touched       inotify event on a canary file, or a connection to the canary endpoint
//   denied egress        attempts with no route (the namespace's Ip/Ip6 OutNoRoutes counters) plus
//                        packets nftables rejected inside the namespace — kill at the spec's threshold
//   pids limit           the cgroup's pids "max" events (a fork failed at pids.max)
//   oom                  the cgroup's OOM kills
//   ttl                  a timer at expiresAt
//
// Cheap by design, because one supervisor guards many sandboxes: every 250 ms it reads a few small
// files (the namespace's /proc/<pid>/net/snmp{,6} through any process inside it, and the cgroup's
// event counters). Only when the namespace's network counters moved does it spawn `nft` to read the
// rule counters, so an idle sandbox costs no process spawns at all.
import * as fs from "fs";
import type { ChainLog } from "../record/chain-log";
import type { KillRule } from "../spec/schema";
import type { LocalSandboxHandle } from "./handle";
import { cgroupOf } from "./views";
import { DENIED_COUNTERS, readCounters, sumPackets, CounterValues } from "./nft";
import { safeAppend } from "./record";
import { netnsPath } from "./netns";

export const GUARD_POLL_MS = 250;

export interface Trip {
  rule: "canary" | "denied-egress" | "pids-limit" | "oom" | "ttl";
  detail: string;
}

export interface EgressCounts {
  /** connect()/sendto() that found no route: internet, metadata, other sandboxes, the host's other networks. */
  noRoute: number;
  /** Rejected by nftables inside the namespace, per protocol. */
  rejected: Record<string, number>;
  /** New connections through the gate, per allowed upstream. */
  gate: Record<string, number>;
  /** Connections to the canary endpoint. */
  canary: number;
  total: number;
}

/** Reads one "Header: a b c / Values: 1 2 3" table from /proc/<pid>/net/snmp. */
function snmpValue(text: string, table: string, field: string): number {
  const lines = text.split("\n").filter((l) => l.startsWith(`${table}:`));
  if (lines.length < 2) return 0;
  const keys = lines[0].split(/\s+/).slice(1);
  const vals = lines[1].split(/\s+/).slice(1);
  const i = keys.indexOf(field);
  return i >= 0 ? Number(vals[i]) || 0 : 0;
}

function snmp6Value(text: string, field: string): number {
  const m = new RegExp(`^${field}\\s+(\\d+)`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

const readOr = (file: string) => {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
};

export class SandboxGuard {
  private timer: NodeJS.Timeout | undefined;
  private ttlTimer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  private stopped = false;
  private tripped = false;
  private lastNetFingerprint = "";
  private counters: CounterValues = {};
  private noRoute = 0;
  private lastRecordedTotal = 0;
  private lastGate = "";
  private base = { pidsMax: 0, oomKill: 0 };
  private seenLimit = { pids: false, oom: false };
  private netnsInode: number | undefined;
  private anchorPid: number | undefined;
  /** Canary events seen (files touched, endpoint used). */
  canaryHits = 0;

  constructor(
    private readonly handle: LocalSandboxHandle,
    private readonly record: ChainLog,
    private readonly rules: KillRule[],
    private readonly onTrip: (t: Trip) => void,
  ) {}

  private rule(on: KillRule["on"]): KillRule | undefined {
    return this.rules.find((r) => r.on === on);
  }

  /**
   * Starts the TTL timer and the counter polling (canary events arrive through `canaryTouched`).
   * `anchorPid` is a process that stays in the namespace (see anchor.ts).
   */
  arm(anchorPid?: number): void {
    this.anchorPid = anchorPid;
    const stats = cgroupOf(this.handle.cgroup).stats();
    this.base = { pidsMax: stats.pidsMaxEvents, oomKill: stats.memoryEvents.oomKill };
    const msLeft = Math.max(0, new Date(this.handle.expiresAt).getTime() - Date.now());
    this.ttlTimer = setTimeout(() => this.trip({ rule: "ttl", detail: `the sandbox's ttl (${this.handle.spec.ttl}) ran out at ${this.handle.expiresAt}` }), msLeft);
    this.ttlTimer.unref();
    this.timer = setInterval(() => void this.poll(), GUARD_POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.ttlTimer) clearTimeout(this.ttlTimer);
  }

  /** A canary file was opened/read/changed, or the canary endpoint was used. */
  canaryTouched(what: string, data: Record<string, unknown>): void {
    if (this.stopped) return;
    this.canaryHits++;
    const kills = !!this.rule("canary");
    safeAppend(this.record, what, { ...data, action: kills ? "kill" : "alert only (no canary kill rule; unsafe.canaryAlertOnly)" });
    if (kills) this.trip({ rule: "canary", detail: `${what}: ${String(data.file ?? data.from ?? "")}` });
  }

  private trip(t: Trip): void {
    if (this.tripped || this.stopped) return;
    this.tripped = true;
    this.onTrip(t);
  }

  /** The egress counts as of the last poll (call `refresh` first for exact numbers). */
  egress(): EgressCounts {
    const gate: Record<string, number> = {};
    for (const [upstream, counter] of Object.entries(this.handle.nft?.allowedCounters ?? {})) gate[upstream] = this.counters[counter]?.packets ?? 0;
    const rejected = Object.fromEntries(DENIED_COUNTERS.map((n) => [n.replace(/^denied_/, ""), this.counters[n]?.packets ?? 0]));
    const total = this.noRoute + sumPackets(this.counters, DENIED_COUNTERS);
    return { noRoute: this.noRoute, rejected, gate, canary: this.counters.canary?.packets ?? 0, total };
  }

  /** Reads every counter now (nft included), e.g. for the final record. */
  async refresh(): Promise<EgressCounts> {
    this.readNoRoute(true);
    this.counters = await readCounters(this.handle.netns, this.handle.nft?.table ?? this.handle.netns);
    return this.egress();
  }

  /**
   * A process inside the namespace, through which its /proc/net counters can be read. Checked by
   * namespace inode: a process that has just joined the cgroup may not have entered the namespace yet,
   * and the host's own counters must never be mistaken for the sandbox's.
   */
  private pidInside(): number | undefined {
    if (this.netnsInode === undefined) {
      try {
        this.netnsInode = fs.statSync(netnsPath(this.handle.netns)).ino;
      } catch {
        return undefined;
      }
    }
    const want = `net:[${this.netnsInode}]`;
    const candidates = this.anchorPid !== undefined ? [this.anchorPid] : [];
    for (const pid of [...candidates, ...cgroupOf(this.handle.cgroup).processes()]) {
      try {
        if (fs.readlinkSync(`/proc/${pid}/ns/net`) === want) return pid;
      } catch {
        /* exited meanwhile */
      }
    }
    return undefined;
  }

  /** Updates the no-route count; returns whether any network counter of the namespace moved. */
  private readNoRoute(force = false): boolean {
    const pid = this.pidInside();
    if (pid === undefined) return force;
    const snmp = readOr(`/proc/${pid}/net/snmp`);
    const snmp6 = readOr(`/proc/${pid}/net/snmp6`);
    if (!snmp) return false;
    const fingerprint = snmp + snmp6;
    const moved = fingerprint !== this.lastNetFingerprint;
    this.lastNetFingerprint = fingerprint;
    this.noRoute = snmpValue(snmp, "Ip", "OutNoRoutes") + snmp6Value(snmp6, "Ip6OutNoRoutes");
    return moved || force;
  }

  /** One poll at a time; a caller that arrives meanwhile shares the one in flight. */
  private poll(forceCounters = false): Promise<void> {
    if (this.inflight) return this.inflight.then(() => (forceCounters ? this.poll(true) : undefined));
    this.inflight = this.pollOnce(forceCounters).finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  /**
   * A last full look (limits, and every counter) — when the workload has just exited, a limit it
   * hit or a denial it caused in its final moments is recorded, and its rule fires, before anyone
   * reads the outcome.
   */
  settle(): Promise<void> {
    return this.stopped ? Promise.resolve() : this.poll(true);
  }

  private async pollOnce(forceCounters: boolean): Promise<void> {
    if (this.stopped) return;
    try {
      this.checkLimits();
      if (this.readNoRoute(forceCounters)) {
        this.counters = await readCounters(this.handle.netns, this.handle.nft?.table ?? this.handle.netns);
        if (this.stopped) return;
        this.recordEgress();
      }
    } catch (e) {
      safeAppend(this.record, "guard-error", { error: (e as Error).message });
    }
  }

  private recordEgress(): void {
    const e = this.egress();
    const gateKey = JSON.stringify(e.gate);
    if (gateKey !== this.lastGate) {
      this.lastGate = gateKey;
      if (Object.values(e.gate).some((n) => n > 0)) safeAppend(this.record, "gate-connections", { perUpstream: e.gate });
    }
    if (e.total === this.lastRecordedTotal) return;
    this.lastRecordedTotal = e.total;
    const rule = this.rule("denied-egress");
    const threshold = rule && rule.on === "denied-egress" ? rule.threshold : undefined;
    safeAppend(this.record, "egress-denied", { total: e.total, noRoute: e.noRoute, rejected: e.rejected, killThreshold: threshold ?? null });
    if (threshold !== undefined && e.total >= threshold) this.trip({ rule: "denied-egress", detail: `${e.total} denied egress attempts (threshold ${threshold})` });
  }

  private checkLimits(): void {
    const s = cgroupOf(this.handle.cgroup).stats();
    if (s.pidsMaxEvents > this.base.pidsMax && !this.seenLimit.pids) {
      this.seenLimit.pids = true;
      const kills = !!this.rule("pids-limit");
      safeAppend(this.record, "limit-hit", { limit: "pids", pidsMax: this.handle.spec.workload.pids, forkFailures: s.pidsMaxEvents - this.base.pidsMax, action: kills ? "kill" : "recorded" });
      if (kills) this.trip({ rule: "pids-limit", detail: `fork failed at pids.max ${this.handle.spec.workload.pids}` });
    }
    if (s.memoryEvents.oomKill > this.base.oomKill && !this.seenLimit.oom) {
      this.seenLimit.oom = true;
      const kills = !!this.rule("oom");
      safeAppend(this.record, "limit-hit", { limit: "memory", memoryMax: this.handle.spec.workload.memory, oomKills: s.memoryEvents.oomKill - this.base.oomKill, action: kills ? "kill" : "recorded" });
      if (kills) this.trip({ rule: "oom", detail: `the kernel OOM-killed a process at memory ${this.handle.spec.workload.memory}` });
    }
  }
}
