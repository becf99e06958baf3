// Taking a sandbox's stack down through the engine, again if it fails. A destroy that gives up leaves a
// live sandbox behind — for our users an incident, not an error message — while a repeated destroy
// is harmless: the engine destroys what is still in the state and nothing else. So every failure is
// tried again (the engine's failures seen here were a gRPC "14 UNAVAILABLE" between the engine and the
// language host, and a stack still locked by an update that was being cancelled), a bounded number
// of times with a growing pause, and the error that finally comes out names every attempt and the
// command that finishes the job by hand.

/** What this needs of an Automation API stack (LocalWorkspace's Stack has it). */
export interface DestroyableStack {
  destroy(opts: { onOutput?: (s: string) => void }): Promise<unknown>;
  workspace: { removeStack(name: string): Promise<void> };
}

export interface DestroyRetryOptions {
  /** Pauses before the 2nd, 3rd, ... attempt; their count + 1 is the number of attempts. */
  pausesMs?: readonly number[];
  onOutput?: (s: string) => void;
  /** How a person finishes the destroy if every attempt fails (named in the error). */
  byHand: string;
  sleep?: (ms: number) => Promise<void>;
}

export const DESTROY_PAUSES_MS: readonly number[] = [2_000, 8_000];

export class DestroyFailed extends Error {
  constructor(
    readonly stackName: string,
    readonly attempts: string[],
    byHand: string,
  ) {
    super(`destroying stack '${stackName}' failed ${attempts.length} time(s): ${attempts.map((a, i) => `attempt ${i + 1}: ${a}`).join("; ")}. Its sandbox may still exist: finish with ${byHand}`);
    this.name = "DestroyFailed";
  }
}

/** The line that says why: the engine's own "error: ..." line of an Automation API CommandError (whose message starts with "code: N"), else the first line. */
function oneLine(e: unknown): string {
  const lines = String((e as Error)?.message ?? e).split("\n").map((l) => l.trim()).filter(Boolean);
  return (lines.find((l) => /^(stderr: )?error:/i.test(l)) ?? lines[0] ?? String(e)).replace(/^stderr: /, "");
}

/** Destroys the stack's resources, then removes the stack; each step is retried on failure. */
export async function destroyWithRetry(stack: DestroyableStack, stackName: string, o: DestroyRetryOptions): Promise<void> {
  const pauses = o.pausesMs ?? DESTROY_PAUSES_MS;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const failures: string[] = [];
  // Removing the stack only after its resources are gone: a removed stack with live resources would
  // be a sandbox nothing knows about any more.
  let destroyed = false;
  for (let attempt = 0; ; attempt++) {
    try {
      if (!destroyed) {
        await stack.destroy({ onOutput: o.onOutput });
        destroyed = true;
      }
      await stack.workspace.removeStack(stackName);
      return;
    } catch (e) {
      failures.push(`${destroyed ? "remove stack" : "destroy"}: ${oneLine(e)}`);
      if (attempt >= pauses.length) throw new DestroyFailed(stackName, failures, o.byHand);
      o.onOutput?.(`destroy of stack '${stackName}' failed (${oneLine(e)}); trying again in ${pauses[attempt] / 1000} s\n`);
      await sleep(pauses[attempt]);
    }
  }
}
