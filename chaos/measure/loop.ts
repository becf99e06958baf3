// A periodic task that can be stopped at once (a pending sleep is cut short) and waited for.
import { clock } from "./clock";

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Sleeps until `clock()` reaches `deadline` (epoch ms, see clock.ts). A timer alone can fire up to a
 * millisecond early against that clock — libuv schedules in whole ms of a loop time cached at the
 * start of each loop turn — and a fault must never start before its tick, so an early wake-up
 * sleeps again for the remainder (then yields to the event loop, at most a few extra turns).
 */
export async function sleepUntil(deadline: number, signal?: AbortSignal): Promise<void> {
  for (;;) {
    const left = deadline - clock();
    if (left <= 0 || signal?.aborted) return;
    if (left >= 1) await sleep(Math.ceil(left), signal);
    else await new Promise<void>((r) => setImmediate(r));
  }
}

export class Periodic {
  private readonly stopper = new AbortController();
  private running: Promise<void> | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly tick: () => Promise<void> | void,
  ) {}

  start(): this {
    this.running = (async () => {
      while (!this.stopper.signal.aborted) {
        const started = Date.now();
        try {
          await this.tick();
        } catch {
          /* a failed measurement is recorded by the tick itself; the loop goes on */
        }
        await sleep(this.intervalMs - (Date.now() - started), this.stopper.signal);
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    await this.running;
  }
}
