// The kill-rule judge: turns what a guard observed (a canary touched, a denied-egress total, a
// cgroup's limit events, the TTL running out) into record events and at most one trip. Cloud-neutral
// and I/O-free: the local backend's guard (components/local/guard.ts, on the host) and the in-guest
// guard (components/guest/agent.ts, inside a VM) both judge through this one class, so a spec's kill
// rules mean the same thing on every backend — same thresholds, same record events, same details.
import type { KillRule } from "../spec/schema";

export type TripRule = "canary" | "denied-egress" | "pids-limit" | "oom" | "ttl";

export interface Trip {
  rule: TripRule;
  detail: string;
}

/** The cgroup counters the limit rules read (both cgroup versions give them, host/cgroup.ts). */
export interface LimitEvents {
  /** Times fork() failed at pids.max. */
  pidsMaxEvents: number;
  /** Processes the kernel OOM-killed. */
  oomKill: number;
}

export interface DeniedEgress {
  total: number;
  noRoute: number;
  rejected: Record<string, number>;
}

export interface JudgeLimits {
  /** The workload's pids limit (spec.workload.pids), for the record. */
  pids: number;
  /** The workload's memory limit as written in the spec (spec.workload.memory), for the record. */
  memory: string | number;
}

export class KillRuleJudge {
  private tripped = false;
  private base: LimitEvents = { pidsMaxEvents: 0, oomKill: 0 };
  private seen = { pids: false, oom: false };
  private lastDeniedTotal = 0;
  canaryHits = 0;

  constructor(
    private readonly rules: KillRule[],
    private readonly limits: JudgeLimits,
    /** Appends one event to the record (must not throw). */
    private readonly record: (type: string, data: Record<string, unknown>) => void,
    private readonly onTrip: (t: Trip) => void,
  ) {}

  rule(on: KillRule["on"]): KillRule | undefined {
    return this.rules.find((r) => r.on === on);
  }

  /** The denied-egress threshold, when that rule is on. */
  deniedThreshold(): number | undefined {
    const r = this.rule("denied-egress");
    return r && r.on === "denied-egress" ? r.threshold : undefined;
  }

  /** Counts already there when the guard armed are not the workload's doing. */
  baseline(events: LimitEvents): void {
    this.base = { ...events };
  }

  get hasTripped(): boolean {
    return this.tripped;
  }

  trip(t: Trip): void {
    if (this.tripped) return;
    this.tripped = true;
    this.onTrip(t);
  }

  /** A canary file was opened/read/changed, or a canary credential was used. */
  canaryTouched(what: string, data: Record<string, unknown>): void {
    this.canaryHits++;
    const kills = !!this.rule("canary");
    this.record(what, { ...data, action: kills ? "kill" : "alert only (no canary kill rule; unsafe.canaryAlertOnly)" });
    if (kills) this.trip({ rule: "canary", detail: `${what}: ${String(data.file ?? data.from ?? "")}` });
  }

  /** The denied-egress total as of now; recorded when it moved, a trip at the threshold. */
  egressDenied(e: DeniedEgress): void {
    if (e.total === this.lastDeniedTotal) return;
    this.lastDeniedTotal = e.total;
    const threshold = this.deniedThreshold();
    this.record("egress-denied", { total: e.total, noRoute: e.noRoute, rejected: e.rejected, killThreshold: threshold ?? null });
    if (threshold !== undefined && e.total >= threshold) this.trip({ rule: "denied-egress", detail: `${e.total} denied egress attempts (threshold ${threshold})` });
  }

  /** The workload cgroup's limit events as of now. */
  limitEvents(s: LimitEvents): void {
    if (s.pidsMaxEvents > this.base.pidsMaxEvents && !this.seen.pids) {
      this.seen.pids = true;
      const kills = !!this.rule("pids-limit");
      this.record("limit-hit", { limit: "pids", pidsMax: this.limits.pids, forkFailures: s.pidsMaxEvents - this.base.pidsMaxEvents, action: kills ? "kill" : "recorded" });
      if (kills) this.trip({ rule: "pids-limit", detail: `fork failed at pids.max ${this.limits.pids}` });
    }
    if (s.oomKill > this.base.oomKill && !this.seen.oom) {
      this.seen.oom = true;
      const kills = !!this.rule("oom");
      this.record("limit-hit", { limit: "memory", memoryMax: this.limits.memory, oomKills: s.oomKill - this.base.oomKill, action: kills ? "kill" : "recorded" });
      if (kills) this.trip({ rule: "oom", detail: `the kernel OOM-killed a process at memory ${this.limits.memory}` });
    }
  }

  /** The TTL always ends a sandbox (it is not a kill rule one can leave out). */
  ttlExpired(ttl: string, expiresAt: string): void {
    this.trip({ rule: "ttl", detail: `the sandbox's ttl (${ttl}) ran out at ${expiresAt}` });
  }
}

/** Reads one "Header: a b c / Values: 1 2 3" table from /proc/<pid>/net/snmp. */
export function snmpValue(text: string, table: string, field: string): number {
  const lines = text.split("\n").filter((l) => l.startsWith(`${table}:`));
  if (lines.length < 2) return 0;
  const keys = lines[0].split(/\s+/).slice(1);
  const vals = lines[1].split(/\s+/).slice(1);
  const i = keys.indexOf(field);
  return i >= 0 ? Number(vals[i]) || 0 : 0;
}

export function snmp6Value(text: string, field: string): number {
  const m = new RegExp(`^${field}\\s+(\\d+)`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

/** connect()/sendto() calls that found no route, IPv4 + IPv6, from a namespace's snmp tables. */
export function noRouteCount(snmp: string, snmp6: string): number {
  return snmpValue(snmp, "Ip", "OutNoRoutes") + snmp6Value(snmp6, "Ip6OutNoRoutes");
}
