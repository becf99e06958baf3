// Field types of the experiment format, in the units researchers write: durations ("250ms", "2m"),
// sizes ("64KiB"), rates ("1MiB/s"), shares ("10%" or 0.1). Every field parses to a plain number
// (ms, bytes, bytes/s, 0..1) so that ramps can interpolate any of them the same way.
//
// Custom messages are "<what is wrong>; <how to fix>": issues.ts splits them into message and fix,
// the same convention as the sandbox spec's validator.
import { z } from "zod";
import { parseDurationMs, parseSizeBytes } from "../../components/spec/units";

/** No duration field of an experiment may exceed this (about 285 000 years; maxDuration itself is capped at 2h). */
export const MAX_DURATION_FIELD_MS = Number.MAX_SAFE_INTEGER;

/** A duration in ms. A bare number is refused (is 100 ms or s?), except 0. */
export function durationField() {
  return z.union([z.string(), z.number()]).transform((v, ctx): number => {
    const fail = (message: string) => {
      ctx.addIssue({ code: "custom", message });
      return z.NEVER;
    };
    if (typeof v === "number") {
      if (v < 0) return fail("negative duration; durations count forward: use 0s or more, e.g. 30s");
      if (v === 0) return 0;
      return fail(`a duration needs a unit; write it like ${v}ms or ${v}s`);
    }
    if (/^\s*-/.test(v)) return fail("negative duration; durations count forward: use 0s or more, e.g. 30s");
    const ms = parseDurationMs(v);
    if (ms === undefined) return fail("not a duration; write it like 250ms, 30s, 2m or 1h30m");
    // "1" followed by 400 zeros parses to Infinity, and past 2^53 ms arithmetic on it is inexact: no
    // schedule can be computed from either. (Merely long ones, e.g. 99999h, get the schedule's own
    // "longer than maxDuration" error, which says what to write instead.)
    if (!Number.isFinite(ms) || ms > MAX_DURATION_FIELD_MS) return fail("duration too long to compute with; an experiment runs at most 2h: use a duration like 30s, 10m or 2h");
    return ms;
  });
}

/** "10%" -> 0.1, a plain number as is; undefined if the text is neither. */
function percentOrFraction(v: string | number): number | undefined {
  if (typeof v === "number") return v;
  const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v);
  return m ? Number(m[1]) / 100 : undefined;
}

/** A share in [0, 1]: "10%" or 0.1. */
export function shareField(what = "share") {
  return z.union([z.string(), z.number()]).transform((v, ctx): number => {
    const n = percentOrFraction(v);
    if (n === undefined) {
      ctx.addIssue({ code: "custom", message: `not a ${what}; write a percentage like 10% or a fraction like 0.1` });
      return z.NEVER;
    }
    if (!(n >= 0 && n <= 1)) {
      ctx.addIssue({ code: "custom", message: `${what} out of range; use 0%..100% (or 0..1)` });
      return z.NEVER;
    }
    return n;
  });
}

/** A size in bytes: "64KiB", "1MB" or a plain byte count. */
export function sizeField() {
  return z.union([z.string(), z.number()]).transform((v, ctx): number => {
    if (typeof v === "number" && v < 0) {
      ctx.addIssue({ code: "custom", message: "negative size; use a size like 64KiB" });
      return z.NEVER;
    }
    const n = parseSizeBytes(v);
    if (n === undefined) {
      ctx.addIssue({ code: "custom", message: "not a size; write it like 512, 64KiB or 256MiB" });
      return z.NEVER;
    }
    return n;
  });
}

/** A byte rate in bytes/s: "64KiB/s", "1MB/s" (or a plain number of bytes/s). */
export function rateField() {
  return z.union([z.string(), z.number()]).transform((v, ctx): number => {
    const text = typeof v === "string" ? v.trim().replace(/\/s$/, "") : v;
    if (typeof v === "string" && !/\/s$/.test(v.trim())) {
      ctx.addIssue({ code: "custom", message: "a rate needs '/s'; write it like 64KiB/s or 1MiB/s" });
      return z.NEVER;
    }
    const n = parseSizeBytes(text);
    if (n === undefined || n <= 0) {
      ctx.addIssue({ code: "custom", message: "not a positive rate; write it like 64KiB/s or 1MiB/s" });
      return z.NEVER;
    }
    return n;
  });
}

/**
 * CPU quota as a share of ONE core: "20%" or 0.2 (may exceed 1 for several cores: 150% = 1.5).
 * Zero is refused: a zero quota is not starvation but a freeze, and the kernel rejects it anyway.
 */
export function coreShareField() {
  return z.union([z.string(), z.number()]).transform((v, ctx): number => {
    const n = percentOrFraction(v);
    if (n === undefined) {
      ctx.addIssue({ code: "custom", message: "not a CPU quota; write the share of one core like 20% or 0.2" });
      return z.NEVER;
    }
    if (!(n > 0)) {
      ctx.addIssue({ code: "custom", message: "a CPU quota of 0 (or less) would freeze the workload, not starve it; use a share above 0, e.g. 20% (a fifth of one core)" });
      return z.NEVER;
    }
    if (n > 256) {
      ctx.addIssue({ code: "custom", message: "CPU quota above 256 cores; use a share of one core like 20% or 1.5" });
      return z.NEVER;
    }
    return n;
  });
}

/** The kinds of numbers fields parse to; ramps interpolate them and round per kind. */
export type ParamKind = "duration" | "share" | "size" | "rate" | "cores" | "count";

export function roundParam(kind: ParamKind, value: number): number {
  if (kind === "share") return Math.round(value * 1e6) / 1e6;
  if (kind === "cores") return Math.round(value * 1e4) / 1e4;
  return Math.round(value);
}
