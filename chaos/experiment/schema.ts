// The shape of a chaos experiment (YAML). Objects are strict, as in the sandbox spec: a typo such as
// `duraton:` must be an error, never a silently ignored field that leaves a fault on longer.
//
// Actions are validated one by one (see validate.ts), so one broken action does not hide the
// problems of the others, and the cross-field rules still run over every action that parsed.
import { z } from "zod";
import { durationField, shareField } from "./fields";
import { FAULTS, FaultName, faultDef } from "./catalogue";

/** Default and hard cap of an experiment's total duration (baseline + timeline + recovery). */
export const MAX_DURATION_DEFAULT_MS = 15 * 60_000;
export const MAX_DURATION_CAP_MS = 2 * 3_600_000;
/** Actions per experiment: validation and the overlap check stay fast and the report readable. */
export const MAX_ACTIONS = 1000;

const NAME_RE = /^[a-z][a-z0-9-]{0,46}[a-z0-9]$/;
const nameField = () => z.string().regex(NAME_RE, { error: "not a valid name; use 2-48 characters of a-z, 0-9 and '-', starting with a letter" });

/** Record event types that mean the sandbox's kill switch fired ("kill": components/local/sandbox.ts). */
export const KILL_SWITCH_EVENTS = ["kill", "kill-switch"] as const;

export const STREAMS = ["upstream", "downstream"] as const;
export type Stream = (typeof STREAMS)[number];
export const PHASES = ["before", "during", "after"] as const;
export type Phase = (typeof PHASES)[number];

const repeatSchema = z.strictObject({
  /** A fixed interval between window starts. */
  every: durationField().optional(),
  /** A cron expression (5 or 6 fields, UTC); windows start at its ticks. */
  cron: z.string().min(1).optional(),
  /** Offset (from the timeline start) by which every repeated window must have ended. */
  until: durationField().optional(),
});

const randomSchema = z.strictObject({
  /** How many windows to place. */
  count: z.number().int().min(1).max(1000),
  /** The span they are placed in (offsets from the timeline start). */
  from: durationField().default(0),
  to: durationField(),
  /** Overrides the experiment's seed for this action. */
  seed: z.number().int().optional(),
});

function paramsShape(fault: FaultName, forRamp: boolean): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, def] of Object.entries(faultDef(fault).params)) {
    if (forRamp) {
      if (def.rampable) shape[key] = def.schema.optional();
    } else if (def.default !== undefined) shape[key] = def.schema.default(def.default as never);
    // A rampable param may come from the ramp alone; validate.ts checks it is given one way or the other.
    else shape[key] = def.optional || def.rampable ? def.schema.optional() : def.schema;
  }
  return shape;
}

function actionVariant(fault: FaultName) {
  const def = faultDef(fault);
  const network = def.category === "network";
  const params = z.strictObject(paramsShape(fault, false));
  const rampable = paramsShape(fault, true);
  return z.strictObject({
    fault: z.literal(fault),
    name: nameField().optional(),
    ...(network ? { upstream: z.string().min(1) } : {}),
    // "down" takes the whole listener away: it has no direction.
    ...(network && fault !== "down" ? { stream: z.enum(STREAMS).default("downstream") } : {}),
    ...(def.toxicity ? { toxicity: shareField("toxicity").default(1) } : {}),
    // Missing params default to {} so that each missing field is reported by name (or comes from a ramp).
    params: params.prefault({} as never),
    start: durationField().default(0),
    duration: durationField(),
    repeat: repeatSchema.optional(),
    random: randomSchema.optional(),
    ...(Object.keys(rampable).length
      ? {
          ramp: z
            .strictObject({
              steps: z.number().int().min(2).max(1000),
              /** How long the ramp takes; default the whole window. The last value is held after it. */
              over: durationField().optional(),
              from: z.strictObject(rampable),
              to: z.strictObject(rampable),
            })
            .optional(),
        }
      : {}),
  });
}

const variants = (Object.keys(FAULTS) as FaultName[]).map(actionVariant);
export const actionSchema = z.discriminatedUnion("fault", variants as unknown as [ReturnType<typeof actionVariant>, ...ReturnType<typeof actionVariant>[]]);

/** A request through the gate, timed: what probes and the measurement sampler send. */
const requestFields = {
  upstream: z.string().min(1),
  /** http: GET `path`, a response is a round trip. tcp: write `send`, wait for the first byte back. */
  kind: z.enum(["http", "tcp"]).default("http"),
  path: z.string().startsWith("/", { error: "not a path; start it with /" }).default("/"),
  send: z.string().default("ping\n"),
};

const probeBase = {
  name: nameField(),
  phases: z.array(z.enum(PHASES)).min(1).default([...PHASES]),
  interval: durationField().default(1000),
};

export const probeSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("request"),
    ...probeBase,
    ...requestFields,
    /** The probe fails if there is no complete answer within this time. */
    within: durationField(),
    /** http only: acceptable status codes (default: any 2xx/3xx). */
    expectStatus: z.array(z.number().int().min(100).max(599)).optional(),
  }),
  z.strictObject({ type: z.literal("workload-alive"), ...probeBase }),
]);

export const stopConditionSchema = z.discriminatedUnion("on", [
  /** A probe failed this many times in a row (during the timeline). */
  z.strictObject({ on: z.literal("probe-failed"), probe: z.string().min(1), consecutive: z.number().int().min(1).default(3) }),
  /** The workload is gone (its cgroup is empty / its process exited). */
  z.strictObject({ on: z.literal("workload-exit") }),
  /** An event of one of these types appears in the sandbox record (the local backend's kill switch writes "kill"). */
  z.strictObject({ on: z.literal("record-event"), types: z.array(z.string().min(1)).min(1).default([...KILL_SWITCH_EVENTS]) }),
]);

export const DEFAULT_STOP_CONDITIONS: z.output<typeof stopConditionSchema>[] = [{ on: "workload-exit" }, { on: "record-event", types: [...KILL_SWITCH_EVENTS] }];

export const experimentSchema = z.strictObject({
  name: nameField(),
  description: z.string().optional(),
  /** Default target sandbox id (the CLI's --sandbox wins). */
  sandbox: z.string().min(1).optional(),
  /** Seed of every random window: the same seed gives the same schedule. */
  seed: z.number().int().default(1),
  /** Hard bound on the whole run; enforced by a watchdog process even if the runner dies or hangs. */
  maxDuration: durationField().default(MAX_DURATION_DEFAULT_MS),
  /** Measured before the first fault: the baseline every effect is compared with. */
  baseline: durationField().default(3000),
  /** Measured after the last fault is undone: did the steady state come back? */
  recovery: durationField().default(3000),
  measure: z
    .strictObject({
      interval: durationField().default(500),
      timeout: durationField().default(5000),
      /** Timed requests through the gate; default one http request per upstream a network fault names. */
      requests: z.array(z.strictObject(requestFields)).optional(),
    })
    .default({ interval: 500, timeout: 5000 }),
  steadyState: z.strictObject({ probes: z.array(probeSchema).default([]) }).default({ probes: [] }),
  stopConditions: z.array(stopConditionSchema).default(DEFAULT_STOP_CONDITIONS),
  actions: z
    .array(z.unknown())
    .min(1, { error: "an experiment needs at least one action; add an entry under actions:" })
    .max(MAX_ACTIONS, { error: `more than ${MAX_ACTIONS} actions; split the experiment into several, or use repeat/random for recurring faults` }),
});

export type ExperimentHead = z.output<typeof experimentSchema>;
export type Probe = z.output<typeof probeSchema>;
export type StopCondition = z.output<typeof stopConditionSchema>;
export type MeasureRequest = z.output<z.ZodObject<typeof requestFields>>;

/** Parameter values after parsing: numbers in base units (ms, bytes, bytes/s, shares), enums, flags. */
export type Params = Record<string, number | string | boolean | undefined>;

/** One action after parsing; durations in ms. */
export interface Action {
  fault: FaultName;
  /** Given, or `<fault>-<index>`. */
  name: string;
  index: number;
  upstream?: string;
  stream?: Stream;
  toxicity?: number;
  params: Params;
  start: number;
  duration: number;
  repeat?: { every?: number; cron?: string; until?: number };
  random?: { count: number; from: number; to: number; seed?: number };
  ramp?: { steps: number; over?: number; from: Params; to: Params };
  /** packet-loss only: the mechanism chosen for this target (set by the validator with a target). */
  packetLoss?: { mechanism: "netem" | "toxiproxy" | "emulation"; reason: string };
}

export interface Experiment extends Omit<ExperimentHead, "actions"> {
  actions: Action[];
}
