// Resource starvation by lowering the workload cgroup's limits (not by running load generators):
// CPU quota, memory.max / memory.high, IO bandwidth/IOPS on one device, pids.max. The old value is
// read and journaled (fsynced) before the new one is written; undo writes the old value back. Ramp
// steps write new values without new journal entries: the recorded old value is still the original.
import { cgroupRef, IoLimit, LimitKind, LimitValue } from "../../components/host/cgroup";
import { faultDef } from "../experiment/catalogue";
import type { Params } from "../experiment/schema";
import type { PlannedWindow } from "../schedule/plan";
import { ActiveFault, applyStep, FaultContext, undoSteps } from "./types";

/** The limit value a fault's params ask for; `old` fills what the fault leaves alone (other IO keys). */
export function limitValue(kind: LimitKind, p: Params, old: LimitValue): LimitValue {
  switch (kind) {
    case "cpu": {
      const periodUs = Number(p.period) * 1000;
      return { quotaUs: Math.round(Number(p.quota) * periodUs), periodUs };
    }
    case "memory.max":
    case "memory.high":
      return Number(p.limit);
    case "pids.max":
      return Number(p.max);
    case "io": {
      const o = old as IoLimit;
      const pick = (k: string, cur: number | null) => (p[k] === undefined ? cur : Number(p[k]));
      return { rbps: pick("readBps", o.rbps), wbps: pick("writeBps", o.wbps), riops: pick("readIops", o.riops), wiops: pick("writeIops", o.wiops) };
    }
  }
}

export function describeLimit(kind: LimitKind, v: LimitValue): string {
  if (v === null) return "unlimited";
  if (kind === "cpu") {
    const c = v as { quotaUs: number | null; periodUs: number };
    return c.quotaUs === null ? `unlimited (period ${c.periodUs}µs)` : `${c.quotaUs}/${c.periodUs}µs (${Math.round((c.quotaUs / c.periodUs) * 1000) / 10}% of a core)`;
  }
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export function limitFileName(mode: "v1" | "v2", kind: LimitKind): string {
  const files: Record<LimitKind, [string, string]> = {
    cpu: ["cpu.max", "cpu.cfs_quota_us + cpu.cfs_period_us"],
    "memory.max": ["memory.max", "memory.limit_in_bytes"],
    "memory.high": ["memory.high", "(none)"],
    "pids.max": ["pids.max", "pids.max"],
    io: ["io.max", "blkio.throttle.*_device"],
  };
  return files[kind][mode === "v2" ? 0 : 1];
}

export async function startCgroupLimit(ctx: FaultContext, w: PlannedWindow, params: Params): Promise<ActiveFault> {
  const cg = ctx.cgroup;
  if (!cg) throw new Error("the target has no cgroup");
  const kind = faultDef(w.action.fault).limit!;
  const device = kind === "io" ? String(w.action.params.device) : undefined;
  const old = cg.getLimit(kind, device);
  const value = limitValue(kind, params, old);
  const label = `cgroup ${cg.rel} ${kind}${device ? ` ${device}` : ""}: ${describeLimit(kind, old)} -> ${describeLimit(kind, value)}`;
  const id = await applyStep(ctx, "cgroup-limit", label, { ...cgroupRef(cg), kind, device, old }, () => cg.setLimit(kind, value, device));
  return {
    mechanism: `cgroup ${cg.host.mode} ${limitFileName(cg.host.mode, kind)} (was ${describeLimit(kind, old)})`,
    update: async (next) => cg.setLimit(kind, limitValue(kind, next, old), device),
    stop: () => undoSteps(ctx.journal, [id]),
  };
}
