// `airlock run <spec.yaml> [--json]`: create a local sandbox, run its workload (and its chaos
// experiment, if the spec names one), collect the record, destroy everything, exit with the
// workload's status. This process owns the sandbox: Ctrl-C / SIGTERM tear it down before exiting,
// and after a SIGKILL the next `airlock run`, `sandbox create` or `sweep` replays its journal.
//
// This process owns a sandbox, so nothing about its own terminal may kill it mid-run: a reader that
// goes away (`airlock run spec.yaml | head -c 100`: EPIPE on the next write) would otherwise end it
// with "write EPIPE" and leave an unsealed record for a later recovery. A broken stdout/stderr is
// therefore only noted: the workload's tee stops (recorded, see process-run.ts), the run finishes,
// destroys, seals and exits with the workload's status.
import * as path from "path";
import { parseArgs } from "util";
import type { Command } from "./command";
import { CliError, makeOutput, Output } from "./output";
import { guardSignals } from "../components/host/signals";
import { loadLocalSpec } from "../components/local/cli-support";
import { checkHost, HostSandbox } from "../components/local/sandbox";
import { recoverDeadSandboxes } from "../components/local/lifecycle";
import { formatRunSummary, runSummary, RunSummary } from "../components/local/summary";
import { safeAppend } from "../components/local/record";
import { chaosTargetFromLocalHandle } from "../components/local/chaos-target";
import type { ChaosTarget } from "../chaos/target";

type ChaosResult = { reportPath: string; aborted: boolean; summary: string };
type RunChaos = (target: ChaosTarget, experimentPath: string, opts: { signal: AbortSignal; progress: (msg: string) => void }) => Promise<ChaosResult>;

/** The chaos runner (chaos/, another part of Airlock), if this checkout has it. */
function loadChaosRunner(): RunChaos | undefined {
  try {
    require.resolve("../chaos");
  } catch {
    return undefined; // not there yet: run without chaos (and say so)
  }
  // Present: load errors are real errors, not "missing".
  const m = require("../chaos");
  return typeof m.runChaosForSandbox === "function" ? m.runChaosForSandbox : undefined;
}

function startChaos(sandbox: HostSandbox, experiment: string, out: Output, signal: AbortSignal): Promise<RunSummary["chaos"]> {
  const runChaos = loadChaosRunner();
  if (!runChaos) {
    const skipped = `skipped: the chaos runner (chaos/index.ts runChaosForSandbox) is not in this build; experiment ${experiment} did not run`;
    out.progress(`chaos ${skipped}`);
    safeAppend(sandbox.record, "chaos-skipped", { experiment, reason: "chaos runner not available" });
    return Promise.resolve({ skipped });
  }
  out.progress(`chaos: running ${path.basename(experiment)}`);
  safeAppend(sandbox.record, "chaos-started", { experiment });
  return runChaos(chaosTargetFromLocalHandle(sandbox.handle), experiment, { signal, progress: (m) => out.progress(`chaos: ${m}`) }).then(
    (r) => {
      safeAppend(sandbox.record, "chaos-finished", r);
      return r;
    },
    (e) => {
      const error = `failed: ${(e as Error).message}`;
      out.progress(`chaos ${error}`);
      safeAppend(sandbox.record, "chaos-failed", { experiment, error: (e as Error).message });
      return { error };
    },
  );
}

/** A failed write to our stdout/stderr (EPIPE) is dropped, never fatal (see the header). */
function keepRunningOnBrokenOutput(): void {
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
}

export const command: Command = {
  summary: "create a local sandbox, run its workload, collect the record, destroy it",
  usage: "airlock run <spec.yaml> [--json]",
  async run(args) {
    keepRunningOnBrokenOutput();
    const { values, positionals } = parseArgs({ args, options: { json: { type: "boolean", default: false } }, allowPositionals: true });
    const out = makeOutput(!!values.json);
    if (positionals.length !== 1) throw new CliError("expected exactly one spec file", `usage: ${command.usage}`, 2);
    const { spec, taskDir, experiment } = loadLocalSpec(positionals[0]);
    checkHost();

    const recovered = await recoverDeadSandboxes();
    if (recovered.length) out.progress(`recovered ${recovered.length} sandbox(es) left behind by dead runs`);
    if (spec.waived.length) out.progress(`UNSAFE: this spec waives ${spec.waived.map((f) => `unsafe.${f}`).join(", ")} (recorded)`);
    if (taskDir) out.progress(`task files: ${taskDir} -> /opt/task (read-only)`);

    // Signals are handled from before the first host object exists: one arriving during creation
    // waits for it to finish (or fail and undo itself), then destroys.
    const chaosAbort = new AbortController();
    const creating = HostSandbox.create(spec, { taskDir, progress: (m) => out.progress(m) });
    const signals = guardSignals(async (signal) => {
      chaosAbort.abort();
      const sb = await creating.catch(() => undefined);
      if (!sb) return;
      const r = await sb.destroy(`${signal} received`);
      process.stderr.write(`airlock: sandbox ${sb.id} destroyed; record ${r.record}\n`);
    });
    let sandbox: HostSandbox;
    try {
      sandbox = await creating;
    } catch (e) {
      if (signals.received) await new Promise(() => undefined); // the handler exits
      signals.dispose();
      throw e;
    }
    if (signals.received) await new Promise(() => undefined);
    try {
      out.progress(`sandbox ${sandbox.id} ready; running: ${spec.workload.command.join(" ")}`);
      // With --json, stdout carries only the result: the workload's output goes to stderr.
      const run = sandbox.startWorkload({ stdout: out.json ? process.stderr : process.stdout, stderr: process.stderr });
      const chaos = experiment ? startChaos(sandbox, experiment, out, chaosAbort.signal) : Promise.resolve(undefined);
      const status = await run.exited;
      // A signal's handler tears down and exits on its own; do not race it with a summary.
      if (signals.received) await new Promise(() => undefined);
      chaosAbort.abort();
      const chaosResult = await chaos;
      const egress = await sandbox.egress();
      const killedBy = sandbox.killedBy;
      out.progress("destroying the sandbox");
      const destroyed = await sandbox.destroy(killedBy ? `killed: ${killedBy.rule}` : "workload exited");
      const summary = runSummary({ handle: sandbox.handle, egress, exitStatus: status.status, killedBy, canaryTouched: sandbox.canaryTouched, head: destroyed.head, chaos: chaosResult });
      out.result({ ok: destroyed.failed.length === 0, ...summary, undoFailures: destroyed.failed.map((f) => `${f.step.label}: ${f.error}`) }, () => formatRunSummary(summary));
      if (destroyed.failed.length) process.stderr.write(`airlock: ${destroyed.failed.length} undo step(s) failed; run \`airlock sweep\`\n`);
      return status.status;
    } finally {
      if (!signals.received) {
        signals.dispose();
        await sandbox.destroy("airlock run ended");
      }
    }
  },
};
