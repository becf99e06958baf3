// SIGINT/SIGTERM/SIGHUP handling for long-running commands (`airlock run`, `airlock chaos run`): the
// first signal runs the cleanup (undo everything) and then exits with 128+signal; a second signal
// during cleanup is ignored, because dying half-way would leave the host half-changed (the journal
// would still let `airlock recover` finish the job, but doing it now is better).
const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
const CODES: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

export interface SignalGuard {
  /** The signal that arrived, if any. */
  readonly received: NodeJS.Signals | undefined;
  /** Resolves when a signal arrives (for racing against long waits). */
  readonly arrived: Promise<NodeJS.Signals>;
  /** Removes the handlers (call after normal completion). */
  dispose(): void;
}

/**
 * Installs handlers; on the first signal, `cleanup(signal)` runs, then the process exits with
 * 128+signo unless `exit: false` (then the caller decides, e.g. to write a report first).
 */
export function guardSignals(cleanup: (signal: NodeJS.Signals) => Promise<void>, opts: { exit?: boolean } = {}): SignalGuard {
  let received: NodeJS.Signals | undefined;
  let resolveArrived!: (s: NodeJS.Signals) => void;
  const arrived = new Promise<NodeJS.Signals>((r) => (resolveArrived = r));
  const handler = (signal: NodeJS.Signals) => {
    if (received) return;
    received = signal;
    resolveArrived(signal);
    process.stderr.write(`\nairlock: ${signal} received — undoing everything before exit...\n`);
    cleanup(signal)
      .catch((err) => process.stderr.write(`airlock: cleanup after ${signal} failed: ${err?.message ?? err}; run \`airlock recover\`\n`))
      .finally(() => {
        if (opts.exit !== false) process.exit(128 + (CODES[signal] ?? 0));
      });
  };
  for (const s of SIGNALS) process.on(s, handler);
  return {
    get received() {
      return received;
    },
    arrived,
    dispose() {
      for (const s of SIGNALS) process.off(s, handler);
    },
  };
}
