// Output conventions shared by every `airlock` command: human lines on stderr for progress, results on
// stdout (JSON when --json), and errors as one clear sentence with the fix — never a stack trace
// (set AIRLOCK_DEBUG=1 to see one).
import { SpecError, formatIssue } from "../components/spec/issues";

/** An expected failure: what went wrong and what to do about it. */
export class CliError extends Error {
  constructor(
    message: string,
    public readonly hint?: string,
    public readonly exitCode = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export interface Output {
  json: boolean;
  /** A progress line for a long step (stderr, so stdout stays parseable). */
  progress(message: string): void;
  /** The command's result: printed as JSON with --json, else through `human`. */
  result(value: unknown, human?: (value: any) => string): void;
}

export function makeOutput(json: boolean): Output {
  const started = Date.now();
  return {
    json,
    progress(message) {
      if (process.env.AIRLOCK_QUIET) return;
      const t = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
      process.stderr.write(`[${t}s] ${message}\n`);
    },
    result(value, human) {
      if (json) process.stdout.write(JSON.stringify(value, null, 2) + "\n");
      else process.stdout.write((human ? human(value) : String(value)) + "\n");
    },
  };
}

/** Prints an error the way a researcher can act on it; returns the exit code. */
export function reportError(err: unknown, json: boolean): number {
  if (process.env.AIRLOCK_DEBUG && err instanceof Error) process.stderr.write(String(err.stack) + "\n");
  if (err instanceof SpecError) {
    if (json) process.stdout.write(JSON.stringify({ ok: false, source: err.source, issues: err.issues }, null, 2) + "\n");
    process.stderr.write(`airlock: ${err.source}: ${err.issues.length} problem(s); nothing was created or changed:\n`);
    for (const issue of err.issues) process.stderr.write(`  - ${formatIssue(issue)}\n`);
    return 2;
  }
  if (err instanceof CliError) {
    if (json) process.stdout.write(JSON.stringify({ ok: false, error: err.message, hint: err.hint }) + "\n");
    process.stderr.write(`airlock: ${err.message}\n`);
    if (err.hint) process.stderr.write(`  fix: ${err.hint}\n`);
    return err.exitCode;
  }
  const e = err as any;
  // Errors from our own modules carry a `hint` (e.g. HostToolMissing names the package to install).
  if (e && typeof e.message === "string") {
    if (json) process.stdout.write(JSON.stringify({ ok: false, error: e.message, hint: e.hint }) + "\n");
    process.stderr.write(`airlock: ${e.message}\n`);
    if (e.hint) process.stderr.write(`  fix: ${e.hint}\n`);
    if (!process.env.AIRLOCK_DEBUG) process.stderr.write("  (set AIRLOCK_DEBUG=1 for a stack trace)\n");
    return 1;
  }
  process.stderr.write(`airlock: ${String(err)}\n`);
  return 1;
}
