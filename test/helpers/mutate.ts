// Seeded mutations of YAML-shaped documents, for the property/fuzz tests of the validators: wrong
// types, huge and tiny numbers, missing and unknown keys, unicode, long and repeated values, and the
// schedule shapes that used to expand without bound. Case i of a run is fully determined by (seed, i),
// so a failing case can be rebuilt and printed from its number alone.
//
// Deliberately independent of the code under test (its own PRNG, no import from chaos/ or components/).

export type Rng = () => number;

/** xorshift32 seeded through a string hash: tiny, fast, and not the scheduler's mulberry32. */
export function rngFor(seed: number, caseIndex: number): Rng {
  let x = 2166136261;
  for (const c of `${seed}/${caseIndex}`) x = Math.imul(x ^ c.charCodeAt(0), 16777619);
  x = x >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];

/** Durations, including the ones that used to hang `airlock chaos validate` (99999h) and Infinity. */
const DURATIONS = ["0s", "1ms", "250ms", "1s", "4m", "59m", "2h", "2h1ms", "24h", "24h1m", "7d", "99999h", "9".repeat(400) + "h", "1.5h", "1h30m", "-5s", "5", "5 s", "1e3s", "0.0001ms"];
const CRONS = ["* * * * * *", "*/1 * * * * *", "0 0 31 2 *", "0 0 30 2 *", "*/0 * * * *", "@hourly", "60 * * * *", "* * * * * * *", "", "L W # ?", "0 0 29 2 1", "*/15 * * * * *"];
const STRINGS = ["", " ", "0", "true", "airlock:sandbox", "AIRLOCK-x", "Airlock.dev/owner", "🙂", "ℌ𝔢𝔩𝔩𝔬", "\u0000", "\uffff\ud800", "../../etc/passwd", "/etc/passwd", "a".repeat(20_000), "10.0.0.0/1", "0.0.0.0/0", "8.8.8.8", "::1", "100%", "-5%", "1000%", "0.5", "64KiB/s", "1MiB", "-1MiB", "root", "__proto__", "constructor"];
const NUMBERS = [0, -0, -1, 1, 0.5, 2, 7, 15, 16, 1000, 1001, 65535, 65536, 2 ** 31, 2 ** 53 + 1, -(2 ** 31), 1e-300, 1e308, Infinity, -Infinity, NaN];

function nested(depth: number): unknown {
  let v: unknown = "bottom";
  for (let i = 0; i < depth; i++) v = { [`k${i}`]: v };
  return v;
}

/** A value of a random kind; `rng` decides which. */
export function interestingValue(rng: Rng): unknown {
  switch (Math.floor(rng() * 12)) {
    case 0:
      return pick(rng, NUMBERS);
    case 1:
    case 2:
      return pick(rng, DURATIONS);
    case 3:
      return pick(rng, CRONS);
    case 4:
    case 5:
      return pick(rng, STRINGS);
    case 6:
      return pick(rng, [null, true, false, undefined]);
    case 7:
      return pick(rng, [[], [null], [1, "a", {}], Array.from({ length: 2000 }, (_, i) => i)]);
    case 8:
      return pick(rng, [{}, { every: pick(rng, DURATIONS) }, { cron: pick(rng, CRONS), until: pick(rng, DURATIONS) }, JSON.parse('{"__proto__": {"polluted": 1}}')]);
    case 9:
      return nested(Math.floor(rng() * 300));
    case 10:
      return { every: pick(rng, DURATIONS), until: pick(rng, DURATIONS) };
    default:
      return { count: pick(rng, NUMBERS), from: pick(rng, DURATIONS), to: pick(rng, DURATIONS) };
  }
}

type Container = Record<string, unknown> | unknown[];
interface Slot {
  parent: Container;
  key: string | number;
}

/** Every (container, key) in the document, depth first (bounded: huge arrays are sampled). */
function slots(doc: unknown, out: Slot[] = [], depth = 0): Slot[] {
  if (!doc || typeof doc !== "object" || depth > 12) return out;
  const entries: [string | number, unknown][] = Array.isArray(doc) ? doc.slice(0, 20).map((v, i) => [i, v]) : Object.entries(doc);
  for (const [k, v] of entries) {
    out.push({ parent: doc as Container, key: k });
    slots(v, out, depth + 1);
  }
  return out;
}

const UNKNOWN_KEYS = ["egres", "duraton", "ünïcödé", "🙂", "", "__proto__", "constructor", "toString", "x".repeat(5000), "airlock"];

/** One mutation in place; returns what it did (for a failure report). */
function mutateOnce(doc: Record<string, unknown>, rng: Rng): string {
  const all = slots(doc);
  const containers: Container[] = [doc, ...all.map((s) => (s.parent as any)[s.key]).filter((v): v is Container => !!v && typeof v === "object")];
  const op = Math.floor(rng() * 9);
  if (all.length === 0 || op === 0) {
    const c = pick(rng, containers);
    const key = Array.isArray(c) ? c.length : pick(rng, UNKNOWN_KEYS);
    const value = interestingValue(rng);
    if (Array.isArray(c)) c.push(value);
    else Object.defineProperty(c, key as string, { value, enumerable: true, writable: true, configurable: true });
    return `add ${String(key).slice(0, 40)}`;
  }
  const s = pick(rng, all);
  const label = String(s.key).slice(0, 40);
  switch (op) {
    case 1:
    case 2: {
      (s.parent as any)[s.key] = interestingValue(rng);
      return `set ${label}`;
    }
    case 3:
      if (Array.isArray(s.parent)) s.parent.splice(Number(s.key), 1);
      else delete (s.parent as any)[s.key];
      return `delete ${label}`;
    case 4: {
      // Repeat an array element many times (duplicate names, thousands of actions or upstreams).
      const arr = Array.isArray(s.parent) ? s.parent : undefined;
      if (!arr) return mutateOnce(doc, rng);
      const n = pick(rng, [2, 10, 200, 1100]);
      for (let i = 0; i < n; i++) arr.push(structuredClone(arr[Number(s.key)]));
      return `repeat ${label} x${n}`;
    }
    case 7:
    case 8: {
      // Same kind, edge value: a duration for a duration, a number for a number, a cron for a cron —
      // these mostly stay valid documents, so the accepted side's properties get exercised too.
      const v = (s.parent as any)[s.key];
      if (typeof v === "number") (s.parent as any)[s.key] = pick(rng, NUMBERS);
      else if (typeof v === "string" && /^\d+(\.\d+)?(ms|s|m|h|d)/.test(v)) (s.parent as any)[s.key] = pick(rng, DURATIONS);
      else if (typeof v === "string" && v.split(" ").length >= 5) (s.parent as any)[s.key] = pick(rng, CRONS);
      else if (typeof v === "string") (s.parent as any)[s.key] = pick(rng, STRINGS);
      else return mutateOnce(doc, rng);
      return `nudge ${label}`;
    }
    case 5: {
      // The same value under another type: "5s" <-> 5, 64 -> "64", x -> [x].
      const v = (s.parent as any)[s.key];
      (s.parent as any)[s.key] = typeof v === "number" ? String(v) : typeof v === "string" && /^\d/.test(v) ? parseFloat(v) : [v];
      return `retype ${label}`;
    }
    case 6: {
      // A schedule on a random object (actions and specs alike): the expansions that used to run away.
      const c = pick(rng, containers);
      if (Array.isArray(c)) return mutateOnce(doc, rng);
      const kind = pick(rng, ["repeat", "random", "ramp"] as const);
      c[kind] =
        kind === "repeat"
          ? rng() < 0.5
            ? { every: pick(rng, DURATIONS), until: pick(rng, DURATIONS) }
            : { cron: pick(rng, CRONS), until: pick(rng, DURATIONS) }
          : kind === "random"
            ? { count: pick(rng, [1, 5, 1000, 1001, 0]), from: pick(rng, DURATIONS), to: pick(rng, DURATIONS) }
            : { steps: pick(rng, [2, 10, 1000, 1001, 1]), over: pick(rng, DURATIONS), from: { latency: pick(rng, DURATIONS), quota: "50%", limit: "64MiB" }, to: { latency: pick(rng, DURATIONS), quota: "1%", limit: "1MiB" } };
      return `schedule ${kind}`;
    }
    default:
      return mutateOnce(doc, rng);
  }
}

/** Case i: a copy of one seed document with 1-6 mutations (mostly few). */
export function mutatedCase(seeds: readonly unknown[], seed: number, i: number): { doc: unknown; steps: string[] } {
  const rng = rngFor(seed, i);
  const base = structuredClone(pick(rng, seeds));
  if (rng() < 0.02) return { doc: interestingValue(rng), steps: ["whole document replaced"] };
  const doc = (base && typeof base === "object" ? base : {}) as Record<string, unknown>;
  const steps: string[] = [];
  const n = 1 + Math.floor(rng() * rng() * 6); // mostly one or two: enough documents stay valid
  for (let k = 0; k < n; k++) steps.push(mutateOnce(doc, rng));
  return { doc, steps };
}
