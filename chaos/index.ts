// The chaos module's public surface.
//
// `runChaosForSandbox` is what the local backend's `airlock run` calls when the spec names an
// experiment (with the sandbox adapted to a ChaosTarget by its backend): it runs the experiment against the sandbox and resolves when every fault is undone.
//   - resolves {aborted: false} when the experiment completed;
//   - resolves {aborted: true} when it stopped early: a stop condition, the steady state not holding
//     before the first fault, the maximum duration, or `opts.signal` (the caller's Ctrl-C);
//   - rejects with an ExperimentError (nothing applied) when the experiment is invalid for this
//     sandbox, and with a ChaosRunError (everything rolled back, report written) when the run failed.
// The caller owns signal handling: abort `opts.signal` on SIGINT/SIGTERM and await the promise.
import { runChaos } from "./runner";
import type { ChaosTarget } from "./target";

export async function runChaosForSandbox(
  target: ChaosTarget,
  experimentPath: string,
  opts: { signal?: AbortSignal; progress?: (msg: string) => void },
): Promise<{ reportPath: string; aborted: boolean; summary: string }> {
  const result = await runChaos(target, experimentPath, { signal: opts.signal, progress: opts.progress });
  return { reportPath: result.reportPath, aborted: result.aborted, summary: `${result.summary} Report: ${result.htmlPath}` };
}

export { runChaos, ChaosRunError, CHAOS_PURPOSE, journalOwner } from "./runner";
export type { ChaosRunResult, RunChaosOptions } from "./runner";
export type { ChaosTarget, ChaosGateProxy } from "./target";
export { validateExperiment } from "./experiment/validate";
export type { ValidationContext } from "./experiment/validate";
export { loadExperiment, readExperimentDocument } from "./experiment/load";
export { ExperimentError } from "./experiment/issues";
export type { ChaosReport } from "./report/report";
