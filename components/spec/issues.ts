// Validation issues: every problem in a spec is reported at once, each naming the field path, the
// value that was given and how to fix it, before anything is provisioned.

export interface SpecIssue {
  /** Field path in the document, e.g. `egress.allow[1].port`. */
  path: string;
  /** The value found at that path (undefined if missing). */
  value: unknown;
  /** What is wrong. */
  message: string;
  /** What to write instead. */
  fix: string;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out === "" ? "(document)" : out;
}

export function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  let cur: any = doc;
  for (const part of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = cur[part as any];
  }
  return cur;
}

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return `'${value}'`;
  const json = JSON.stringify(value);
  return json.length > 80 ? json.slice(0, 77) + "..." : json;
}

/** One line per issue: `path: message; got value — fix: ...`. */
export function formatIssue(issue: SpecIssue): string {
  return `${issue.path}: ${issue.message}; got ${show(issue.value)} — fix: ${issue.fix}`;
}

/** Thrown by the loaders; carries every issue so that callers can print them all. */
export class SpecError extends Error {
  constructor(
    public readonly issues: SpecIssue[],
    public readonly source: string,
  ) {
    super(`${source}: ${issues.length} problem${issues.length === 1 ? "" : "s"} in the sandbox spec:\n` + issues.map((i) => "  - " + formatIssue(i)).join("\n"));
    this.name = "SpecError";
  }
}
