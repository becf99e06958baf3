// Runs validation cases in a worker thread with a heap limit and a per-case deadline, so that an
// input that makes a validator loop or allocate without bound fails the test by case number instead
// of hanging mocha or the host (the bug: `repeat: { every: 4m, until: 99999h }` ran past 30 s and
// 1.8 GB). The worker is terminated as soon as one case overruns.
import * as path from "path";
import { Worker } from "worker_threads";
import type { WorkerJob, WorkerSummary } from "./validate-worker";
export type { WorkerSummary };

export interface Bounds {
  /** One case may take at most this long (the worker is then terminated). */
  caseMs: number;
  /** The worker's old-generation heap limit: allocating past it kills the worker. */
  heapMb: number;
}

export class BoundExceeded extends Error {
  constructor(
    message: string,
    public readonly caseIndex: number,
  ) {
    super(message);
  }
}

const WORKER = path.join(__dirname, "validate-worker.ts");

export interface BoundedJob extends Omit<WorkerJob, "progress"> {
  /**
   * Validated first, in the same worker, with no bound but `bounds.caseMs` of the baseline itself;
   * `boundsFrom` then turns its summary into the bounds of the real cases (a same-run comparison).
   */
  baseline?: { docs: unknown[]; count: number; boundsFrom(s: WorkerSummary): Bounds };
}

export interface BoundedResult extends WorkerSummary {
  bounds: Bounds;
  baseline?: WorkerSummary;
}

export function runBounded(job: BoundedJob, bounds: Bounds): Promise<BoundedResult> {
  const progress = new SharedArrayBuffer(8);
  const view = new Int32Array(progress);
  const bootstrap = `require("ts-node").register({ transpileOnly: true }); require(${JSON.stringify(WORKER)});`;
  const { boundsFrom, ...baselineDocs } = job.baseline ?? ({} as NonNullable<BoundedJob["baseline"]>);
  const worker = new Worker(bootstrap, {
    eval: true,
    workerData: { ...job, baseline: job.baseline ? baselineDocs : undefined, progress },
    resourceLimits: { maxOldGenerationSizeMb: bounds.heapMb, maxYoungGenerationSizeMb: 32 },
    env: process.env,
  });
  let current = bounds;
  let baseline: WorkerSummary | undefined;
  return new Promise<BoundedResult>((resolve, reject) => {
    let settled = false;
    // Watches the case in progress: the deadline runs from when the worker starts it.
    let last = 0;
    let since = performance.now();
    const timer = setInterval(() => {
      const now = Atomics.load(view, 0);
      if (now !== last) [last, since] = [now, performance.now()];
      else if (now > Atomics.load(view, 1) && performance.now() - since > current.caseMs)
        finish(new BoundExceeded(`case ${now - 1} did not finish within ${current.caseMs} ms`, now - 1));
    }, 25);
    function finish(err?: Error, summary?: WorkerSummary) {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      void worker.terminate();
      if (err) reject(err);
      else resolve({ ...summary!, bounds: current, baseline });
    }
    const start = (what: "baseline" | "go") => {
      Atomics.store(view, 0, 0);
      Atomics.store(view, 1, 0);
      [last, since] = [0, performance.now()];
      worker.postMessage(what);
    };
    worker.on("message", (m) => {
      // Loading ts-node and the validators is not a case: nothing is watched until "ready".
      if (m.ready) start(job.baseline ? "baseline" : "go");
      else if (m.baseline) {
        baseline = m.baseline as WorkerSummary;
        current = { ...boundsFrom!(baseline), heapMb: bounds.heapMb };
        start("go");
      } else if (m.summary) finish(undefined, m.summary);
    });
    worker.on("error", (e: any) => {
      const i = Atomics.load(view, 0) - 1;
      finish(new BoundExceeded(`case ${i} ${e.code === "ERR_WORKER_OUT_OF_MEMORY" ? `ran out of the ${bounds.heapMb} MB heap` : `crashed the worker: ${e.message}`}`, i));
    });
    worker.on("exit", (code) => finish(new Error(`the validation worker exited (${code}) before reporting`)));
  });
}
