// One signal-safe cleanup for every bench (npm run bench). try/finally does not run when a signal kills
// the process, so an interrupted bench used to leave faults, netns, cgroups, Toxiproxy proxies,
// processes or engine stacks behind. A bench makes each thing it must undo through make() or using(),
// which records how to undo it; on the first SIGINT, SIGTERM or SIGHUP this module
//   1. stops the bench from making anything new (check() and make() throw BenchInterrupted, `signal`
//      aborts) — a thing made after the cleanup started would outlive it;
//   2. passes the signal on to the children that undo their own work (forwardTo), and waits for them,
//      for makes under way and for operations under way (track): a create under way finishes first and
//      is then undone, an undo under way (the normal path's) is joined, not run twice;
//   3. undoes what is still alive, newest first (things made together as one batch, together);
//   4. runs the closing steps (atLast: sweeps), prints what it cleaned, and exits 128+signo (130 for
//      SIGINT, 143 for SIGTERM, 129 for SIGHUP).
// A second signal during the cleanup is ignored: dying half-way would leave the host half-changed. Other
// handlers in the process (the automation library destroys its own sandboxes on SIGINT/SIGTERM, then
// calls process.exit) may want to exit first; that exit is held until this cleanup has finished.
import type { ChildProcess } from "child_process";

const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
const SIGNO: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** Thrown by check()/make() once a signal arrived; main() treats it as the expected end, not a failure. */
export class BenchInterrupted extends Error {
  constructor(readonly by: NodeJS.Signals) {
    super(`interrupted by ${by}: the bench makes nothing new while it cleans up`);
    this.name = "BenchInterrupted";
  }
}

export interface Made<T, U> {
  readonly value: T;
  /** Undoes it (once: later and concurrent calls, and the signal path, share the same undo). */
  undo(): Promise<U>;
}

export interface MakeOptions<U> {
  /** Things of one batch (e.g. 50 sandboxes made at once) are undone together on a signal. */
  batch?: string;
  /** What an undo that resolved still left (e.g. a destroy's failed steps): reported as a failure. */
  failures?: (result: U) => string[];
}

export interface Teardown {
  readonly name: string;
  /** The signal that started the cleanup, if one did. */
  readonly interrupted: NodeJS.Signals | undefined;
  /** Aborted on the first signal (for library calls that take an AbortSignal). */
  readonly signal: AbortSignal;
  /** Throws BenchInterrupted once a signal arrived. Call before making anything by hand. */
  check(): void;
  /** Lets a pending signal run its handler (a synchronous loop never would), then check(). */
  pause(): Promise<void>;
  /** Makes something and records its undo; `what` names it in the cleanup's report. */
  make<T, U>(what: string | ((value: T) => string), create: () => T | Promise<T>, undo: (value: T) => U | Promise<U>, opts?: MakeOptions<U>): Promise<Made<T, U>>;
  /** make(), then body(value), then the undo — whether body returned or threw, and on a signal. */
  using<T, R>(what: string | ((value: T) => string), create: () => T | Promise<T>, undo: (value: T) => unknown, body: (value: T) => Promise<R>): Promise<R>;
  /** An operation under way that a cleanup must wait for (a destroy, a run that rolls back on `signal`). */
  track<P>(p: Promise<P>): Promise<P>;
  /**
   * A change made outside make() (a fault applied through a journal that make() holds): refused after a
   * signal, else started and tracked in the same tick, so the cleanup cannot miss it.
   */
  step<P>(start: () => Promise<P>): Promise<P>;
  /**
   * A child that undoes its own work on a signal: it gets the same signal (its whole process group with
   * `group`, for a child started detached whose own children must hear it too), and the cleanup waits
   * for its exit.
   */
  forwardTo(child: ChildProcess, what: string, opts?: { group?: boolean }): void;
  /** A closing step on a signal, after every undo (e.g. a sweep); its returned text is printed. */
  atLast(what: string, step: () => Promise<string | void> | string | void): void;
  /**
   * Runs the bench. An error after a signal is the cleanup's business (it sets the exit code). Any other
   * error fails the bench (exit 1) after the same undo of what is still alive, so a bench needs no
   * try/finally of its own; so does a run that returned with something still alive.
   */
  main(run: () => Promise<unknown> | unknown): void;
}

interface Entry {
  what: string;
  batch?: string;
  failures: () => string[];
  undo: () => Promise<unknown>;
}

let installed: Teardown | undefined;

/** The bench's teardown (one per process: the first call installs the signal handlers). */
export function benchTeardown(name: string, out: (line: string) => void = (l) => void process.stderr.write(l + "\n")): Teardown {
  if (installed) return installed;
  const abort = new AbortController();
  const alive: Entry[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const forwarded: { child: ChildProcess; what: string; group: boolean; exited: Promise<void> }[] = [];
  const closing: { what: string; step: () => Promise<string | void> | string | void }[] = [];
  let received: NodeJS.Signals | undefined;

  const check = () => {
    if (received) throw new BenchInterrupted(received);
  };
  function track<P>(p: Promise<P>): Promise<P> {
    inFlight.add(p);
    const drop = () => void inFlight.delete(p);
    p.then(drop, drop);
    return p;
  }

  async function make<T, U>(what: string | ((value: T) => string), create: () => T | Promise<T>, undo: (value: T) => U | Promise<U>, opts: MakeOptions<U> = {}): Promise<Made<T, U>> {
    check();
    // The whole make is tracked, registration included: a cleanup waiting for it sees the entry.
    return track(
      (async () => {
        const value = await create();
        let undone: Promise<U> | undefined;
        let result: U | undefined;
        const entry: Entry = {
          what: typeof what === "function" ? what(value) : what,
          batch: opts.batch,
          failures: () => (result !== undefined && opts.failures ? opts.failures(result) : []),
          undo: () => made.undo(),
        };
        const made: Made<T, U> = {
          value,
          undo: () =>
            (undone ??= track(
              (async () => {
                try {
                  result = await undo(value);
                  return result;
                } finally {
                  const i = alive.indexOf(entry);
                  if (i >= 0) alive.splice(i, 1);
                }
              })(),
            )),
        };
        alive.push(entry);
        if (process.env.AIRLOCK_BENCH_TRACE) out(`bench ${name}: made ${entry.what}`); // for tests that signal after a make
        return made;
      })(),
    );
  }

  async function using<T, R>(what: string | ((value: T) => string), create: () => T | Promise<T>, undo: (value: T) => unknown, body: (value: T) => Promise<R>): Promise<R> {
    const m = await make(what, create, undo);
    try {
      return await body(m.value);
    } finally {
      await m.undo();
    }
  }

  const hasExited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;
  const passedTo = new Set<(typeof forwarded)[number]>();
  function pass(f: (typeof forwarded)[number], signal: NodeJS.Signals) {
    if (hasExited(f.child) || !f.child.pid) return;
    passedTo.add(f);
    out(`  passing ${signal} on to ${f.what} (pid ${f.child.pid}${f.group ? " and its process group" : ""}), which undoes its own work`);
    try {
      if (f.group) process.kill(-f.child.pid, signal);
      else f.child.kill(signal);
    } catch {
      /* exited meanwhile */
    }
  }
  function forwardTo(child: ChildProcess, what: string, opts: { group?: boolean } = {}): void {
    const exited = hasExited(child) ? Promise.resolve() : new Promise<void>((r) => child.once("exit", () => r()));
    const f = { child, what, group: !!opts.group, exited };
    forwarded.push(f);
    track(exited);
    if (received) pass(f, received);
  }

  const ms = (t0: number) => `${Math.round(performance.now() - t0)} ms`;
  /** Undoes everything still alive; `signal` when a signal started it, undefined after a failed run. */
  async function cleanup(signal: NodeJS.Signals | undefined): Promise<void> {
    let undone = 0;
    const failed: string[] = [];
    if (signal) for (const f of forwarded) pass(f, signal);
    // Makes, undos and runs under way finish first (each may start another tracked step: loop until none).
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    for (const f of passedTo) out(`  ${f.what} exited (${f.child.exitCode ?? f.child.signalCode})`);
    // Newest first; a batch (everything made together) at once.
    while (alive.length > 0) {
      const last = alive[alive.length - 1];
      const group = last.batch === undefined ? [last] : alive.filter((e) => e.batch === last.batch).reverse();
      await Promise.all(
        group.map(async (e) => {
          const t0 = performance.now();
          try {
            await e.undo();
            const left = e.failures();
            if (left.length) throw new Error(left.join("; "));
            undone++;
            out(`  undone: ${e.what} (${ms(t0)})`);
          } catch (err) {
            failed.push(e.what);
            out(`  FAILED to undo ${e.what}: ${(err as Error)?.message ?? err}`);
          } finally {
            const i = alive.indexOf(e); // an undo that threw before its own bookkeeping
            if (i >= 0) alive.splice(i, 1);
          }
        }),
      );
    }
    for (const c of closing) {
      const t0 = performance.now();
      try {
        const said = await c.step();
        out(`  ${c.what}${said ? `: ${said}` : ""} (${ms(t0)})`);
      } catch (err) {
        failed.push(c.what);
        out(`  FAILED: ${c.what}: ${(err as Error)?.message ?? err}`);
      }
    }
    const exitCode = signal ? 128 + (SIGNO[signal] ?? 0) : 1;
    out(
      `bench ${name}: ${signal ?? "failed"} — undid ${undone} thing(s) it made${failed.length ? `; ${failed.length} FAILED (${failed.join(", ")}): run \`airlock sweep\` / \`airlock recover\` with AIRLOCK_STATE_DIR=${process.env.AIRLOCK_STATE_DIR ?? "(default)"}` : ", nothing left"}; exit ${exitCode}`,
    );
  }

  const handler = (signal: NodeJS.Signals) => {
    if (received) {
      out(`bench ${name}: ${signal} ignored, still cleaning up after ${received} (a SIGKILL now would leave things behind)`);
      return;
    }
    received = signal;
    abort.abort(new BenchInterrupted(signal));
    out(`\nbench ${name}: ${signal} received — waiting for what is under way, then undoing what this run made:`);
    const realExit = process.exit;
    process.exit = ((code?: number) => void out(`  (an exit(${code ?? 0}) from elsewhere in the process waits for this cleanup)`)) as typeof process.exit;
    const keepAlive = setInterval(() => undefined, 1 << 30); // the cleanup may await only promises
    cleanup(signal)
      .catch((err) => out(`bench ${name}: cleanup failed: ${(err as Error)?.stack ?? err}`))
      .finally(() => {
        clearInterval(keepAlive);
        process.exit = realExit;
        process.exit(128 + (SIGNO[signal] ?? 0));
      });
  };
  for (const s of SIGNALS) process.on(s, handler);

  installed = {
    name,
    get interrupted() {
      return received;
    },
    signal: abort.signal,
    check,
    pause: () => new Promise<void>((r) => setImmediate(r)).then(check),
    make,
    using,
    track,
    step: (start) => (check(), track(start())),
    forwardTo,
    atLast: (what, step) => void closing.push({ what, step }),
    main(run) {
      Promise.resolve()
        .then(run)
        .then(
          () => {
            if (received || alive.length === 0) return;
            out(`bench ${name}: finished with ${alive.length} thing(s) not undone (${alive.map((e) => e.what).join(", ")}): undoing them`);
            process.exitCode = 1;
            return cleanup(undefined);
          },
          (e) => {
            if (received) return; // the cleanup decides the exit code
            process.stderr.write(`${name} bench failed: ${(e as Error)?.stack ?? e}\n`);
            process.exitCode = 1;
            if (alive.length > 0 || inFlight.size > 0) {
              out(`bench ${name}: undoing what it made before the failure:`);
              return cleanup(undefined);
            }
          },
        );
    },
  };
  return installed;
}
