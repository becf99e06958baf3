// The guard: runs in the process that owns the sandbox (the `airlock run` process, or the shared
// supervisor for detached sandboxes) and turns what the kernel counts into records and kill decisions:
//
//   canary touched       inotify event on a canary file, or a connection to the canary endpoint
//   denied egress        attempts with no route (the namespace's Ip/Ip6 OutNoRoutes counters) plus
//                        packets nftables rejected inside the namespace, plus refused socket() calls of
//                        transport families (vsock, packet, ...: socket-refusals.ts says which and why)
//                        from any process's starts, through the sandbox's tally file (refusal-tally.ts)
//                        — kill at the spec's threshold
//   pids limit           the cgroup's pids "max" events (a fork failed at pids.max)
//   oom                  the cgroup's OOM kills
//   ttl                  a timer at expiresAt
//
// Cheap by design, because one supervisor guards many sandboxes: every 250 ms it reads a few small
// files (the namespace's /proc/<pid>/net/snmp{,6} through any process inside it, the cgroup's
// event counters, and one stat of the refusal tally). Only when the namespace's network counters moved does it spawn `nft` to read the
// rule counters, so an idle sandbox costs no process spawns at all.
import * as fs from "fs";
import type { ChainLog } from "../record/chain-log";
import type { KillRule } from "../spec/schema";
import type { LocalSandboxHandle } from "./handle";
import { cgroupOf } from "./views";
import { DENIED_COUNTERS, readCounters, sumPackets, CounterValues } from "./nft";
import { safeAppend } from "./record";
import { netnsPath } from "./netns";
import { readRefusalTally, refusalTallyPath } from "./refusal-tally";
import { KillRuleJudge, noRouteCount, Trip } from "../guard/judge";

export type { Trip } from "../guard/judge";

export const GUARD_POLL_MS = 250;

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
  private lastNetFingerprint = "";
  private counters: CounterValues = {};
  private noRoute = 0;
  private lastGate = "";
  /** The kill rules' judgement, shared with the in-guest guard (components/guard/judge.ts). */
  private readonly judge: KillRuleJudge;
  private netnsInode: number | undefined;
  private anchorPid: number | undefined;
  /**
   * Refused socket() calls of transport families, from starts in any process (the owner's, a CLI's
   * `sandbox exec`, an automation client's): the tally file every start appends to (refusal-tally.ts).
   */
  private readonly tally: string;
  private refusedSockets = 0;
  private judgedRefusedSockets = 0;
  constructor(
    private readonly handle: LocalSandboxHandle,
    private readonly record: ChainLog,
    rules: KillRule[],
    onTrip: (t: Trip) => void,
  ) {
    this.judge = new KillRuleJudge(rules, { pids: handle.spec.workload.pids, memory: handle.spec.workload.memory }, (type, data) => void safeAppend(record, type, data), (t) => {
      if (!this.stopped) onTrip(t);
    });
    this.tally = refusalTallyPath(handle.id);
  }

  /** Canary events seen (files touched, endpoint used). */
  get canaryHits(): number {
    return this.judge.canaryHits;
  }

  /**
   * Starts the TTL timer and the counter polling (canary events arrive through `canaryTouched`).
   * `anchorPid` is a process that stays in the namespace (see anchor.ts).
   */
  arm(anchorPid?: number): void {
    this.anchorPid = anchorPid;
    const stats = cgroupOf(this.handle.cgroup).stats();
    this.judge.baseline({ pidsMaxEvents: stats.pidsMaxEvents, oomKill: stats.memoryEvents.oomKill });
    const msLeft = Math.max(0, new Date(this.handle.expiresAt).getTime() - Date.now());
    this.ttlTimer = setTimeout(() => !this.stopped && this.judge.ttlExpired(this.handle.spec.ttl, this.handle.expiresAt), msLeft);
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
    this.judge.canaryTouched(what, data);
  }

  /** The egress counts as of the last poll (call `refresh` first for exact numbers). */
  egress(): EgressCounts {
    const gate: Record<string, number> = {};
    for (const [upstream, counter] of Object.entries(this.handle.nft?.allowedCounters ?? {})) gate[upstream] = this.counters[counter]?.packets ?? 0;
    const rejected: Record<string, number> = Object.fromEntries(DENIED_COUNTERS.map((n) => [n.replace(/^denied_/, ""), this.counters[n]?.packets ?? 0]));
    rejected.socketFamily = this.refusedSockets;
    const total = this.noRoute + sumPackets(this.counters, DENIED_COUNTERS) + this.refusedSockets;
    return { noRoute: this.noRoute, rejected, gate, canary: this.counters.canary?.packets ?? 0, total };
  }

  /** Reads every counter now (nft included), e.g. for the final record. */
  async refresh(): Promise<EgressCounts> {
    this.readNoRoute(true);
    this.refusedSockets = readRefusalTally(this.tally);
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
    this.noRoute = noRouteCount(snmp, snmp6);
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
      this.refusedSockets = readRefusalTally(this.tally);
      if (this.readNoRoute(forceCounters)) {
        this.counters = await readCounters(this.handle.netns, this.handle.nft?.table ?? this.handle.netns);
        if (this.stopped) return;
        this.recordEgress();
      } else if (this.refusedSockets !== this.judgedRefusedSockets) this.recordEgress();
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
    this.judgedRefusedSockets = this.refusedSockets;
    this.judge.egressDenied(e);
  }

  private checkLimits(): void {
    const s = cgroupOf(this.handle.cgroup).stats();
    this.judge.limitEvents({ pidsMaxEvents: s.pidsMaxEvents, oomKill: s.memoryEvents.oomKill });
  }
}
