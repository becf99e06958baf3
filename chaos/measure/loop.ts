// A periodic task that can be stopped at once (a pending sleep is cut short) and waited for.

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
