// Human units used in specs and experiments: durations ("90s", "4h", "1h30m", "250ms") and sizes
// ("512MiB", "4GiB", "4G"). One parser for both the sandbox spec and chaos experiments so that "4h"
// means the same thing everywhere.

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)/;

/** Parses "1h30m" / "250ms" / "4h" into milliseconds; returns undefined if the text is not a duration. */
export function parseDurationMs(text: string): number | undefined {
  let rest = text.trim();
  if (rest === "") return undefined;
  let total = 0;
  while (rest.length > 0) {
    const m = DURATION_RE.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** Renders milliseconds back to the shortest exact unit ("4h", "90s", "250ms"). */
export function formatDurationMs(ms: number): string {
  for (const unit of ["d", "h", "m", "s"]) {
    const size = DURATION_UNITS[unit];
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const SIZE_UNITS: Record<string, number> = {
  "": 1, b: 1,
  k: 1e3, kb: 1e3, ki: 1024, kib: 1024,
  m: 1e6, mb: 1e6, mi: 1024 ** 2, mib: 1024 ** 2,
  g: 1e9, gb: 1e9, gi: 1024 ** 3, gib: 1024 ** 3,
  t: 1e12, tb: 1e12, ti: 1024 ** 4, tib: 1024 ** 4,
};

/** Parses "4GiB", "512Mi", "2G" or a plain byte count into bytes; undefined if not a size. */
export function parseSizeBytes(text: string | number): number | undefined {
  if (typeof text === "number") return Number.isFinite(text) && text >= 0 ? Math.floor(text) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const factor = SIZE_UNITS[m[2].toLowerCase()];
  if (factor === undefined) return undefined;
  return Math.floor(Number(m[1]) * factor);
}

export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;
