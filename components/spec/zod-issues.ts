// zod issues -> SpecIssues {path, value, message, fix}: one mapping for every document Airlock
// validates (the sandbox spec, chaos experiments), so every validation error reads the same way and
// names the field, the value given and the fix. Our own schema messages are written as
// "<what is wrong>; <how to fix>" and split here.
import type { z } from "zod";
import { SpecIssue, formatPath, valueAt } from "./issues";

/** The closest option to a misspelt word (edit distance < 3), for "did you mean". */
export function nearest(word: string, options: readonly string[]): string | undefined {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length][b.length];
  };
  let best: string | undefined;
  let bestD = 3;
  for (const o of options) {
    const dd = dist(word.toLowerCase(), o.toLowerCase());
    if (dd < bestD) (best = o), (bestD = dd);
  }
  return best;
}

/**
 * Maps zod issues (paths relative to `doc`) to SpecIssues. `prefix` is prepended to every path (an
 * action validated on its own is `actions[i]`); `knownKeys(path)` lists the fields allowed there.
 */
export function zodIssues(doc: unknown, error: z.ZodError, prefix: PropertyKey[], knownKeys: (path: PropertyKey[]) => string[], docsHint = "see the documentation of this field"): SpecIssue[] {
  const out: SpecIssue[] = [];
  for (const issue of error.issues as any[]) {
    const path = issue.path as PropertyKey[];
    const full = [...prefix, ...path];
    if (issue.code === "unrecognized_keys") {
      const known = knownKeys(path);
      for (const key of issue.keys as string[]) {
        const guess = nearest(key, known);
        out.push({
          path: formatPath([...full, key]),
          value: valueAt(doc, [...path, key]),
          message: "unknown field",
          fix: guess ? `did you mean '${guess}'? (known fields: ${known.join(", ")})` : `remove it (known fields: ${known.join(", ") || "none"})`,
        });
      }
      continue;
    }
    const value = valueAt(doc, path);
    let message: string = issue.message;
    let fix = docsHint;
    const custom = String(issue.message).split("; ");
    if (custom.length > 1 && issue.code !== "invalid_union") {
      // Our own messages: "<what is wrong>; <how to fix>".
      message = custom[0];
      fix = custom.slice(1).join("; ");
    } else if (issue.code === "invalid_union" && issue.note === "No matching discriminator") {
      const options: string[] = issue.options ?? [];
      const given = typeof value === "string" ? value : undefined;
      const guess = given ? nearest(given, options) : undefined;
      message = value === undefined ? `required field '${issue.discriminator}' is missing` : `unknown ${issue.discriminator}`;
      fix = guess ? `did you mean '${guess}'? (known: ${options.join(" | ")})` : `use one of: ${options.join(" | ")}`;
    } else if (issue.code === "invalid_value" && issue.values) {
      message = "not one of the allowed values";
      fix = `use one of: ${issue.values.join(" | ")}`;
    } else if (issue.code === "invalid_type") {
      message = value === undefined ? "required field is missing" : `expected ${issue.expected}`;
      fix = value === undefined ? `add ${formatPath(full)} (${issue.expected})` : `write a ${issue.expected}`;
    } else if (issue.code === "too_small") {
      message = issue.origin === "array" ? `needs at least ${issue.minimum} item(s)` : `too small (minimum ${issue.minimum})`;
      fix = issue.origin === "array" ? `add at least ${issue.minimum} item(s)` : `use a value >= ${issue.minimum}`;
    } else if (issue.code === "too_big") {
      message = `too large (maximum ${issue.maximum})`;
      fix = `use a value <= ${issue.maximum}`;
    } else if (issue.code === "invalid_format") {
      message = "invalid value";
      fix = String(issue.message);
    }
    out.push({ path: formatPath(full), value, message, fix });
  }
  return out;
}

/** Field names allowed at `path` in a zod schema (objects, arrays, unions, defaults, optionals). */
export function knownKeysIn(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const unwrap = (s: any): any => {
    while (s && s.def && ["default", "optional", "pipe", "prefault", "nullable"].includes(s.def.type)) s = s.def.innerType ?? s.def.in;
    return s;
  };
  const optionsOf = (s: any): any[] => (s?.def?.type === "union" ? s.def.options : []);
  let cur: any[] = [unwrap(schema)];
  for (const part of path) {
    const next: any[] = [];
    for (const c of cur.flatMap((s) => [s, ...optionsOf(s)])) {
      if (c?.def?.type === "object" && typeof part === "string" && c.def.shape[part]) next.push(unwrap(c.def.shape[part]));
      else if (c?.def?.type === "array" && typeof part === "number") next.push(unwrap(c.def.element));
    }
    cur = next;
  }
  const keys = new Set<string>();
  for (const c of cur.flatMap((s) => [s, ...optionsOf(s)])) if (c?.def?.type === "object") Object.keys(c.def.shape).forEach((k) => keys.add(k));
  return [...keys];
}
