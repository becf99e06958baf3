// Network faults on the egress gate: one Toxiproxy toxic per fault (latency, bandwidth, timeout,
// reset, slow close, slicer, data limit), or the proxy disabled ("down").
import { faultDef } from "../experiment/catalogue";
import type { PlannedWindow } from "../schedule/plan";
import type { Params } from "../experiment/schema";
import { JournaledToxic, toxicAttributes } from "./toxic";
import { ActiveFault, applyStep, FaultContext, undoSteps } from "./types";

export function gateProxy(ctx: FaultContext, upstream: string): string {
  const p = ctx.target.gate?.proxies[upstream];
  if (!p || !ctx.admin) throw new Error(`the target's gate has no upstream '${upstream}'`);
  return p.proxy;
}

/** Toxic names are unique per run and window, and say who made them. */
export function toxicName(ctx: FaultContext, w: PlannedWindow, part = ""): string {
  return `airlock-chaos-${ctx.runId}-${w.action.name}-${w.occurrence}${part ? `-${part}` : ""}`;
}

export async function startToxicFault(ctx: FaultContext, w: PlannedWindow, params: Params): Promise<ActiveFault> {
  const a = w.action;
  const type = faultDef(a.fault).toxic!;
  const toxic = new JournaledToxic(ctx, gateProxy(ctx, a.upstream!), toxicName(ctx, w), type, a.stream!);
  await toxic.set(toxicAttributes(a.fault, params), a.toxicity ?? 1);
  return {
    mechanism: `toxiproxy ${type} toxic on '${toxic.proxy}' ${a.stream}, toxicity ${a.toxicity ?? 1}`,
    update: (next) => toxic.set(toxicAttributes(a.fault, next), a.toxicity ?? 1),
    stop: () => toxic.remove(),
  };
}

/** "down": the proxy disabled (it stops listening and drops its connections); undo restores the old state. */
export async function startProxyDown(ctx: FaultContext, w: PlannedWindow): Promise<ActiveFault> {
  const admin = ctx.admin!;
  const proxy = gateProxy(ctx, w.action.upstream!);
  const before = await admin.getProxy(proxy);
  if (!before) throw new Error(`gate proxy '${proxy}' does not exist on ${admin.url}`);
  const id = await applyStep(ctx, "toxiproxy-enabled", `proxy '${proxy}' disabled`, { url: admin.url, proxy, enabled: before.enabled }, () => admin.setProxyEnabled(proxy, false));
  return {
    mechanism: `toxiproxy proxy '${proxy}' disabled`,
    update: async () => undefined,
    stop: () => undoSteps(ctx.journal, [id]),
  };
}
