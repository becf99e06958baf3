// The catalogue of faults an experiment can name: for each, where it acts (the egress gate or the
// workload's cgroup), what it maps to (a Toxiproxy toxic type, a cgroup limit), and its parameters
// with their units, defaults and whether a ramp may move them. The schema, the ramp interpolation,
// the conflict rules and the fault implementations all read this one table.
import { z } from "zod";
import type { LimitKind } from "../../components/host/cgroup";
import { coreShareField, durationField, ParamKind, rateField, shareField, sizeField } from "./fields";

export type FaultCategory = "network" | "cgroup";

export interface ParamDef {
  schema: z.ZodType;
  /** Numeric params have a kind (for ramps and rounding); enums/booleans/strings have none. */
  kind?: ParamKind;
  default?: unknown;
  optional?: boolean;
  rampable?: boolean;
  doc: string;
}

export interface FaultDef {
  category: FaultCategory;
  summary: string;
  /** Toxiproxy toxic type for the plain toxic faults. */
  toxic?: string;
  /** cgroup limit for the starvation faults. */
  limit?: LimitKind;
  /** Whether `toxicity` (share of connections affected) applies. */
  toxicity?: boolean;
  params: Record<string, ParamDef>;
}

const count = () => z.number().int({ error: "not a whole number; write a count like 64" }).min(1, { error: "must be at least 1; use a count of 1 or more" });

export const PACKET_LOSS_MECHANISMS = ["auto", "netem", "toxiproxy", "emulation"] as const;
export type PacketLossMechanism = (typeof PACKET_LOSS_MECHANISMS)[number];

export const FAULTS = {
  latency: {
    category: "network",
    summary: "delay every chunk of data by latency ± jitter",
    toxic: "latency",
    toxicity: true,
    params: {
      latency: { schema: durationField(), kind: "duration", rampable: true, doc: "added delay" },
      jitter: { schema: durationField(), kind: "duration", rampable: true, default: 0, doc: "random ± variation of the delay" },
    },
  },
  bandwidth: {
    category: "network",
    summary: "cap the throughput of each connection",
    toxic: "bandwidth",
    toxicity: true,
    params: { rate: { schema: rateField(), kind: "rate", rampable: true, doc: "bytes per second (Toxiproxy works in units of 1000 B/s)" } },
  },
  timeout: {
    category: "network",
    summary: "blackhole: stop all data; close the connection after `timeout` (0 = hold it until the fault ends)",
    toxic: "timeout",
    toxicity: true,
    params: { timeout: { schema: durationField(), kind: "duration", default: 0, doc: "when to close the stalled connection; 0 = never (until the fault ends)" } },
  },
  reset: {
    category: "network",
    summary: "reset the connection (TCP RST) `timeout` after the first data",
    toxic: "reset_peer",
    toxicity: true,
    params: { timeout: { schema: durationField(), kind: "duration", default: 0, doc: "delay before the reset" } },
  },
  "slow-close": {
    category: "network",
    summary: "delay the close of the connection",
    toxic: "slow_close",
    toxicity: true,
    params: { delay: { schema: durationField(), kind: "duration", rampable: true, doc: "delay before the close is passed on" } },
  },
  slicer: {
    category: "network",
    summary: "slice data into small chunks with a delay between them",
    toxic: "slicer",
    toxicity: true,
    params: {
      averageSize: { schema: sizeField(), kind: "size", rampable: true, doc: "average chunk size (bytes)" },
      sizeVariation: { schema: sizeField(), kind: "size", default: 0, doc: "± variation of the chunk size" },
      delay: { schema: durationField(), kind: "duration", rampable: true, default: 0, doc: "delay between chunks (Toxiproxy takes µs; ms precision here)" },
    },
  },
  "limit-data": {
    category: "network",
    summary: "close the connection after `bytes` have passed",
    toxic: "limit_data",
    toxicity: true,
    params: { bytes: { schema: sizeField(), kind: "size", doc: "bytes let through per connection" } },
  },
  down: {
    category: "network",
    summary: "take the gate listener down (proxy disabled: refuses and drops connections)",
    params: {},
  },
  "packet-loss": {
    category: "network",
    summary: "packet loss: tc netem, Toxiproxy's packet_loss toxic, or the connection-level emulation (see docs/chaos.md)",
    params: {
      loss: { schema: shareField("loss rate"), kind: "share", rampable: true, doc: "loss rate (netem: of packets; packet_loss: of data chunks; emulation: of connections)" },
      correlation: { schema: shareField("correlation"), kind: "share", default: 0, doc: "burst correlation (netem, packet_loss)" },
      mechanism: { schema: z.enum(PACKET_LOSS_MECHANISMS), default: "auto", doc: "auto picks netem, then packet_loss, then the emulation" },
      emulation: { schema: z.enum(["stall", "reset"]), default: "stall", doc: "emulation only: what happens to a lost connection" },
      retransmitDelay: { schema: durationField(), kind: "duration", default: 200, doc: "emulation only: max extra delay (uniform 0..this) on a share `loss` of connections, for retransmits; 0 = none" },
    },
  },
  cpu: {
    category: "cgroup",
    summary: "CPU quota: share of one core per period",
    limit: "cpu",
    params: {
      quota: { schema: coreShareField(), kind: "cores", rampable: true, doc: "share of one core, e.g. 20% (may exceed 100% for several cores)" },
      period: { schema: durationField(), kind: "duration", default: 100, doc: "CFS period (1ms..1s)" },
    },
  },
  "memory-max": {
    category: "cgroup",
    summary: "hard memory limit: reclaim, then OOM-kill at the limit",
    limit: "memory.max",
    params: {
      limit: { schema: sizeField(), kind: "size", rampable: true, doc: "bytes" },
      force: { schema: z.boolean(), default: false, doc: "allow a limit below the workload's current use" },
    },
  },
  "memory-high": {
    category: "cgroup",
    summary: "memory pressure without OOM (cgroup v2 memory.high; refused on v1)",
    limit: "memory.high",
    params: {
      limit: { schema: sizeField(), kind: "size", rampable: true, doc: "bytes above which the workload is throttled and reclaimed" },
      force: { schema: z.boolean(), default: false, doc: "allow a limit below the workload's current use" },
    },
  },
  io: {
    category: "cgroup",
    summary: "block IO bandwidth/IOPS limits on one device",
    limit: "io",
    params: {
      device: { schema: z.string().min(1), doc: "a disk under /sys/block (e.g. vda) or MAJ:MIN (e.g. 254:0)" },
      readBps: { schema: rateField(), kind: "rate", rampable: true, optional: true, doc: "read bytes/s" },
      writeBps: { schema: rateField(), kind: "rate", rampable: true, optional: true, doc: "write bytes/s" },
      readIops: { schema: count(), kind: "count", rampable: true, optional: true, doc: "read operations/s" },
      writeIops: { schema: count(), kind: "count", rampable: true, optional: true, doc: "write operations/s" },
    },
  },
  pids: {
    category: "cgroup",
    summary: "cap the number of tasks (fork fails beyond it)",
    limit: "pids.max",
    params: { max: { schema: count(), kind: "count", rampable: true, doc: "maximum tasks" } },
  },
} satisfies Record<string, FaultDef>;

export type FaultName = keyof typeof FAULTS;
export const FAULT_NAMES = Object.keys(FAULTS) as FaultName[];

export function faultDef(name: FaultName): FaultDef {
  return FAULTS[name] as FaultDef;
}

export function rampableParams(name: FaultName): string[] {
  return Object.entries(faultDef(name).params)
    .filter(([, p]) => p.rampable)
    .map(([k]) => k);
}
