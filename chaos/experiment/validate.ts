// Turns a raw experiment document into an Experiment and its Plan, or into the complete list of what
// is wrong, before anything is applied. Three layers, all run every time:
//   1. shape: the head (zod), and each action on its own, so one broken action hides nothing;
//   2. cross-field rules over everything that parsed (references, ramps, schedules, limits);
//   3. the plan: windows expanded, overlaps of conflicting actions, the maximum duration;
// plus, when the target is known (ValidationContext), what only the target can say: its upstreams,
// its cgroup version, the workload's current memory use, the host's packet-loss mechanisms.
import type { LimitKind } from "../../components/host/cgroup";
import type { SpecIssue } from "../../components/spec/issues";
import { formatDurationMs } from "../../components/spec/units";
import { buildPlan, conflictIssues, Plan } from "../schedule/plan";
import { FAULT_NAMES, faultDef, rampableParams } from "./catalogue";
import { knownKeysIn, zodIssues } from "./issues";

const CHAOS_DOCS_HINT = "see docs/chaos.md for this field";
import { Action, actionSchema, Experiment, experimentSchema, MAX_ACTIONS, MAX_DURATION_CAP_MS, Probe } from "./schema";

export type Availability = true | string;
export type ResolvedPacketLoss = "netem" | "toxiproxy" | "emulation";

/** What the target can tell the validator. Every field is optional: absent = not checked. */
export interface ValidationContext {
  /** Names of the upstreams the target's gate has; undefined when the target has no gate. */
  upstreams?: string[];
  hasGate?: boolean;
  hasCgroup?: boolean;
  cgroup?: { mode: "v1" | "v2"; hybrid: boolean; supports: Partial<Record<LimitKind, Availability>>; memoryCurrent: number };
  /** Whole disks under /sys/block: name -> MAJ:MIN. */
  blockDevices?: Record<string, string>;
  /** Per stream: can tc netem run on that direction's interface; can the gate's Toxiproxy do packet_loss. */
  packetLoss?: { netem: Record<"upstream" | "downstream", Availability>; toxiproxy: Availability };
  /** Wall-clock start of the timeline (cron windows); default now + baseline. */
  t0?: Date;
}

export type ValidationResult = { ok: true; experiment: Experiment; plan: Plan; issues: [] } | { ok: false; issues: SpecIssue[]; experiment?: Experiment; plan?: Plan };

const MIN_CPU_QUOTA_US = 1000; // the kernel refuses smaller CFS quotas
const MIN_MEMORY_BYTES = 4 * 1024 * 1024;

export function validateExperiment(doc: unknown, ctx: ValidationContext = {}): ValidationResult {
  const issues: SpecIssue[] = [];
  if (!doc || typeof doc !== "object" || Array.isArray(doc))
    return { ok: false, issues: [{ path: "(document)", value: doc, message: "an experiment is a YAML mapping", fix: "start from examples/chaos-latency-ramp.yaml" }] };

  const head = parseHead(doc as Record<string, unknown>, issues);
  const rawActions = Array.isArray((doc as any).actions) ? ((doc as any).actions as unknown[]) : [];
  const actions: Action[] = [];
  // Beyond MAX_ACTIONS the head already has an issue; the rest is not even parsed (bounded work).
  rawActions.slice(0, MAX_ACTIONS).forEach((raw, index) => {
    const action = parseAction(raw, index, issues);
    if (action) actions.push(action);
  });

  const add = (path: string, value: unknown, message: string, fix: string) => issues.push({ path, value, message, fix });
  actionRules(actions, ctx, add);
  probeRules(head, ctx, add);

  if (head.maxDuration > MAX_DURATION_CAP_MS)
    add("maxDuration", formatDurationMs(head.maxDuration), `above the hard cap of ${formatDurationMs(MAX_DURATION_CAP_MS)}`, `use at most ${formatDurationMs(MAX_DURATION_CAP_MS)}; split longer campaigns into several experiments`);
  const horizonMs = Math.max(0, Math.min(head.maxDuration, MAX_DURATION_CAP_MS) - head.baseline - head.recovery);
  const t0 = ctx.t0 ?? new Date(Date.now() + head.baseline);
  const { plan, issues: planIssues } = buildPlan(actions, { t0, horizonMs, seed: head.seed, maxDurationMs: head.maxDuration });
  issues.push(...planIssues, ...conflictIssues(plan.windows));
  const total = head.baseline + plan.timelineMs + head.recovery;
  if (total > head.maxDuration) {
    const last = plan.windows.reduce((a, w) => (w.endMs > (a?.endMs ?? -1) ? w : a), undefined as (typeof plan.windows)[number] | undefined);
    add(
      last ? `actions[${last.action.index}]` : "maxDuration",
      last ? `ends at ${formatDurationMs(last.endMs)}` : formatDurationMs(head.maxDuration),
      `the experiment would run ${formatDurationMs(total)} (baseline ${formatDurationMs(head.baseline)} + timeline ${formatDurationMs(plan.timelineMs)} + recovery ${formatDurationMs(head.recovery)}), longer than maxDuration ${formatDurationMs(head.maxDuration)}`,
      `shorten or move the action, or raise maxDuration (at most ${formatDurationMs(MAX_DURATION_CAP_MS)})`,
    );
  }
  const experiment: Experiment = { ...head, actions };
  if (issues.length > 0 || actions.length !== rawActions.length) return { ok: false, issues, experiment, plan };
  return { ok: true, experiment, plan, issues: [] };
}

/** The head (everything but the actions). Broken fields are reported and then replaced by defaults. */
function parseHead(doc: Record<string, unknown>, issues: SpecIssue[]): Omit<Experiment, "actions"> {
  const first = experimentSchema.safeParse(doc);
  if (first.success) return first.data;
  issues.push(...zodIssues(doc, first.error, [], (p) => knownKeysIn(experimentSchema, p), CHAOS_DOCS_HINT));
  const repaired: Record<string, unknown> = { ...doc };
  for (const issue of first.error.issues) {
    if (issue.code === "unrecognized_keys" && issue.path.length === 0) for (const k of (issue as any).keys) delete repaired[k];
    else if (issue.path.length > 0) delete repaired[issue.path[0] as string];
  }
  repaired.name = typeof repaired.name === "string" ? repaired.name : "unnamed";
  repaired.actions = [null];
  const second = experimentSchema.safeParse(repaired);
  if (second.success) return second.data;
  return experimentSchema.parse({ name: "unnamed", actions: [null] });
}

function parseAction(raw: unknown, index: number, issues: SpecIssue[]): Action | undefined {
  const result = actionSchema.safeParse(raw);
  if (!result.success) {
    const fault = (raw as any)?.fault;
    const variant = FAULT_NAMES.includes(fault) ? fault : undefined;
    issues.push(
      ...zodIssues(raw, result.error, ["actions", index], (p) => {
        if (!variant) return knownKeysIn(actionSchema, p);
        const v = (actionSchema as any).def.options.find((o: any) => o.def.shape.fault.def.values?.includes(variant));
        return v ? knownKeysIn(v, p) : [];
      }, CHAOS_DOCS_HINT),
    );
    return undefined;
  }
  const a = result.data as any;
  return { ...a, name: a.name ?? `${a.fault}-${index}`, index, params: { ...a.params } } as Action;
}

type Add = (path: string, value: unknown, message: string, fix: string) => void;

function actionRules(actions: Action[], ctx: ValidationContext, add: Add): void {
  const names = new Map<string, number>();
  for (const a of actions) {
    const at = `actions[${a.index}]`;
    const def = faultDef(a.fault);
    if (names.has(a.name)) add(`${at}.name`, a.name, `duplicate action name (also actions[${names.get(a.name)}])`, "give every action a unique name");
    names.set(a.name, a.index);
    if (a.duration <= 0) add(`${at}.duration`, formatDurationMs(a.duration), "a fault window must last longer than 0", "use a duration like 30s");

    if (def.category === "network") {
      if (ctx.hasGate === false) add(`${at}.fault`, a.fault, "the target has no egress gate to inject network faults into", "remove the action, or target a sandbox with an egress gate");
      else if (ctx.upstreams && !ctx.upstreams.includes(a.upstream!))
        add(`${at}.upstream`, a.upstream, "the target's gate has no such upstream", ctx.upstreams.length ? `use one of: ${ctx.upstreams.join(" | ")}` : "the sandbox allows no upstream: add one under egress.allow in its spec");
    } else if (ctx.hasCgroup === false) add(`${at}.fault`, a.fault, "the target has no cgroup to starve", "remove the action, or target a sandbox whose workload runs in a cgroup");

    rampRules(a, at, add);
    scheduleRules(a, at, add);
    if (a.fault === "cpu") cpuRules(a, at, add);
    if (a.fault === "memory-max" || a.fault === "memory-high") memoryRules(a, at, ctx, add);
    if (a.fault === "io") ioRules(a, at, ctx, add);
    if (a.fault === "packet-loss") packetLossRules(a, at, ctx, add);
    if (def.limit && ctx.cgroup) {
      const ok = ctx.cgroup.supports[def.limit];
      if (ok !== undefined && ok !== true)
        add(`${at}.fault`, a.fault, `${a.fault} is not available on this host: ${ok}`, a.fault === "memory-high" ? "use memory-max (a hard limit: reclaim, then OOM-kill at the limit), or run on a cgroup v2 host" : "remove the action or run on a host with this controller");
    }
  }
}

function rampRules(a: Action, at: string, add: Add): void {
  const rampable = rampableParams(a.fault);
  const def = faultDef(a.fault);
  for (const key of rampable) {
    const p = def.params[key];
    if (p.default !== undefined || p.optional) continue;
    const inParams = a.params[key] !== undefined;
    const inRamp = a.ramp && a.ramp.from[key] !== undefined && a.ramp.to[key] !== undefined;
    if (!inParams && !inRamp) add(`${at}.params.${key}`, undefined, "required field is missing", `add params.${key} (${p.doc}), or ramp it with ramp.from.${key} and ramp.to.${key}`);
  }
  if (!a.ramp) return;
  const from = Object.keys(a.ramp.from).filter((k) => a.ramp!.from[k] !== undefined);
  const to = Object.keys(a.ramp.to).filter((k) => a.ramp!.to[k] !== undefined);
  if (from.length === 0) add(`${at}.ramp.from`, a.ramp.from, "a ramp needs at least one parameter to move", `add one of: ${rampable.join(", ")}`);
  for (const k of from) if (!to.includes(k)) add(`${at}.ramp.to.${k}`, undefined, `ramp.from has ${k} but ramp.to does not`, `add ramp.to.${k}`);
  for (const k of to) if (!from.includes(k)) add(`${at}.ramp.from.${k}`, undefined, `ramp.to has ${k} but ramp.from does not`, `add ramp.from.${k}`);
  if (a.ramp.over !== undefined && a.ramp.over > a.duration)
    add(`${at}.ramp.over`, formatDurationMs(a.ramp.over), `longer than the window (duration ${formatDurationMs(a.duration)})`, "make ramp.over at most duration, or lengthen duration");
}

function scheduleRules(a: Action, at: string, add: Add): void {
  if (a.repeat && a.random) add(`${at}.random`, a.random, "an action is either repeated or placed at random, not both", "remove repeat or random");
  if (a.repeat) {
    const { every, cron } = a.repeat;
    if ((every === undefined) === (cron === undefined)) add(`${at}.repeat`, a.repeat, "repeat needs exactly one of every or cron", "write repeat: { every: 1m } or repeat: { cron: '*/30 * * * * *' }");
    if (every !== undefined && every <= 0) add(`${at}.repeat.every`, formatDurationMs(every), "must be longer than 0", "use an interval like 1m");
    else if (every !== undefined && every < a.duration)
      add(`${at}.repeat.every`, formatDurationMs(every), `shorter than the window (duration ${formatDurationMs(a.duration)}): the windows would overlap each other`, `use every >= ${formatDurationMs(a.duration)} or shorten duration`);
  }
  if (a.random && a.random.to <= a.random.from) add(`${at}.random.to`, formatDurationMs(a.random.to), "must be after random.from", "widen the span: random.to > random.from");
}

function cpuRules(a: Action, at: string, add: Add): void {
  const period = a.params.period as number;
  if (period < 1 || period > 1000) add(`${at}.params.period`, formatDurationMs(period), "CFS period out of range", "use 1ms..1s (default 100ms)");
  const quotas = [a.params.quota, a.ramp?.from.quota, a.ramp?.to.quota].filter((q): q is number => typeof q === "number");
  for (const q of quotas)
    if (q * period * 1000 < MIN_CPU_QUOTA_US)
      add(`${at}.params.quota`, `${Math.round(q * 1000) / 10}%`, `the quota per period is ${Math.round(q * period * 1000)}µs, below the kernel's minimum of ${MIN_CPU_QUOTA_US}µs`, `use at least ${Math.ceil((MIN_CPU_QUOTA_US / (period * 1000)) * 100)}% with period ${formatDurationMs(period)}, or a longer period`);
}

function memoryRules(a: Action, at: string, ctx: ValidationContext, add: Add): void {
  const limits = [a.params.limit, a.ramp?.from.limit, a.ramp?.to.limit].filter((q): q is number => typeof q === "number");
  const lowest = Math.min(...limits);
  if (!Number.isFinite(lowest)) return;
  if (lowest < MIN_MEMORY_BYTES) add(`${at}.params.limit`, lowest, "below 4MiB: the workload could not even be reclaimed to that", "use at least 4MiB");
  const current = ctx.cgroup?.memoryCurrent;
  if (current !== undefined && lowest < current && a.params.force !== true)
    add(
      `${at}.params.limit`,
      `${(lowest / 2 ** 20).toFixed(1)}MiB`,
      `below the workload's current memory use (${(current / 2 ** 20).toFixed(1)}MiB): ${a.fault === "memory-max" ? "the kernel would reclaim at once and may OOM-kill the workload" : "the workload would be throttled at once"}`,
      `raise the limit above ${(current / 2 ** 20).toFixed(1)}MiB, or set params.force: true if that is the point`,
    );
}

function ioRules(a: Action, at: string, ctx: ValidationContext, add: Add): void {
  const keys = ["readBps", "writeBps", "readIops", "writeIops"];
  if (!keys.some((k) => a.params[k] !== undefined || a.ramp?.from[k] !== undefined)) add(`${at}.params`, a.params, "an io fault needs at least one limit", `add one of: ${keys.join(", ")}`);
  const device = String(a.params.device);
  if (!/^\d+:\d+$/.test(device) && !/^[a-zA-Z0-9_-]+$/.test(device)) {
    add(`${at}.params.device`, device, "not a block device", "use a disk name under /sys/block (e.g. vda) or MAJ:MIN (e.g. 254:0)");
    return;
  }
  if (!ctx.blockDevices) return;
  const byNumber = Object.entries(ctx.blockDevices).find(([, mm]) => mm === device);
  const resolved = ctx.blockDevices[device] ?? byNumber?.[1];
  if (!resolved) add(`${at}.params.device`, device, "no such whole disk on this host", `use one of: ${Object.entries(ctx.blockDevices).map(([n, mm]) => `${n} (${mm})`).join(", ") || "(none found under /sys/block)"}`);
  else a.params.device = resolved; // normalized to MAJ:MIN for the fault and the conflict rule
}

function packetLossRules(a: Action, at: string, ctx: ValidationContext, add: Add): void {
  const requested = a.params.mechanism as string;
  if (!ctx.packetLoss) return;
  const stream = a.stream ?? "downstream";
  const available: Record<ResolvedPacketLoss, Availability> = { netem: ctx.packetLoss.netem[stream], toxiproxy: ctx.packetLoss.toxiproxy, emulation: true };
  if (requested === "auto") {
    // netem first: it is real IP-level loss (TCP retransmits), the thing researchers mean by packet
    // loss; then Toxiproxy's packet_loss (drops stream chunks); then the connection-level emulation.
    const order = ["netem", "toxiproxy", "emulation"] as const;
    const pick = order.find((m) => available[m] === true)!;
    const passed = order.slice(0, order.indexOf(pick)).map((m) => `${m}: ${available[m]}`);
    a.packetLoss = { mechanism: pick, reason: passed.length ? `auto picked ${pick} (${passed.join("; ")})` : `auto picked ${pick}` };
  } else if (available[requested as ResolvedPacketLoss] !== true) {
    add(`${at}.params.mechanism`, requested, `packet-loss mechanism '${requested}' is not available here: ${available[requested as ResolvedPacketLoss]}`, "use mechanism: auto (picks the best available and the report says which ran), or emulation");
  } else a.packetLoss = { mechanism: requested as ResolvedPacketLoss, reason: "requested" };
}

function probeRules(head: Omit<Experiment, "actions">, ctx: ValidationContext, add: Add): void {
  const probes = new Map<string, Probe>();
  head.steadyState.probes.forEach((p, i) => {
    if (probes.has(p.name)) add(`steadyState.probes[${i}].name`, p.name, "duplicate probe name", "give every probe a unique name");
    probes.set(p.name, p);
    if (p.type === "request" && ctx.upstreams && !ctx.upstreams.includes(p.upstream))
      add(`steadyState.probes[${i}].upstream`, p.upstream, "the target's gate has no such upstream", `use one of: ${ctx.upstreams.join(" | ") || "(none)"}`);
    if (p.type === "workload-alive" && ctx.hasCgroup === false) add(`steadyState.probes[${i}].type`, p.type, "the target has no cgroup to tell whether the workload is alive", "remove the probe");
  });
  head.stopConditions.forEach((s, i) => {
    if (s.on !== "probe-failed") return;
    const p = probes.get(s.probe);
    if (!p) add(`stopConditions[${i}].probe`, s.probe, "no probe with this name", probes.size ? `use one of: ${[...probes.keys()].join(" | ")}` : "define it under steadyState.probes first");
    else if (!p.phases.includes("during")) add(`stopConditions[${i}].probe`, s.probe, "this probe does not run during the timeline, so it can never stop it", "add 'during' to the probe's phases");
  });
  (head.measure.requests ?? []).forEach((r, i) => {
    if (ctx.upstreams && !ctx.upstreams.includes(r.upstream)) add(`measure.requests[${i}].upstream`, r.upstream, "the target's gate has no such upstream", `use one of: ${ctx.upstreams.join(" | ") || "(none)"}`);
  });
}
