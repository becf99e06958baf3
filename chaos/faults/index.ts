// Starts the fault of one planned window with the parameters of its first (or current) ramp step.
import { faultDef } from "../experiment/catalogue";
import type { Params } from "../experiment/schema";
import type { PlannedWindow } from "../schedule/plan";
import { startCgroupLimit } from "./cgroup-limit";
import { startProxyDown, startToxicFault } from "./network";
import { startPacketLoss } from "./packet-loss";
import type { ActiveFault, FaultContext } from "./types";

export type { ActiveFault, FaultContext } from "./types";

export function startFault(ctx: FaultContext, w: PlannedWindow, params: Params): Promise<ActiveFault> {
  const fault = w.action.fault;
  if (fault === "down") return startProxyDown(ctx, w);
  if (fault === "packet-loss") return startPacketLoss(ctx, w, params);
  if (faultDef(fault).category === "cgroup") return startCgroupLimit(ctx, w, params);
  return startToxicFault(ctx, w, params);
}
