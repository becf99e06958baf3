// `airlock recover [--json]`: undoes what crashed, killed or overdue Airlock runs left applied — every
// journal whose runner is gone (or past its deadline), any kind: sandbox objects and chaos faults.
// Safe to run at any time: journals of live runners within their deadline are left alone, and a
// journal that ends fully undone is closed, so a second run has nothing to do.
import { parseArgs } from "util";
import { recoverJournals } from "../components/host/journal";
import "../chaos/undo-kinds";
import type { Command } from "./command";
import { CliError, makeOutput } from "./output";

/** Undo kinds of the local backend; recovery of chaos journals must not depend on it loading. */
function loadLocalUndoKinds(warn: (m: string) => void): void {
  try {
    require("../components/local/undo-kinds");
  } catch (e: any) {
    warn(`warning: the local backend's undo handlers did not load (${e.message}); its journals are left for a later recover`);
  }
}

export const command: Command = {
  summary: "undo what crashed or killed Airlock runs left behind (sandbox objects, chaos faults)",
  usage: "airlock recover [--json]",
  async run(args) {
    let json = false;
    try {
      json = !!parseArgs({ args, options: { json: { type: "boolean" } }, strict: true }).values.json;
    } catch (e: any) {
      throw new CliError(e.message, "usage: airlock recover [--json]", 2);
    }
    const out = makeOutput(json);
    loadLocalUndoKinds((m) => out.progress(m));
    const results = await recoverJournals();
    const acted = results.filter((r) => r.action !== "skipped-live");
    const partial = results.filter((r) => r.action === "partial");
    out.result(
      {
        ok: partial.length === 0,
        journals: results.map((r) => ({
          owner: r.owner,
          purpose: r.purpose,
          action: r.action,
          runnerTerminated: r.runnerTerminated,
          steps: r.outcomes.map((o) => ({ label: o.step.label, kind: o.step.kind, ok: o.ok, error: o.error, ms: o.ms })),
        })),
      },
      () => {
        if (results.length === 0) return "nothing to recover: no journal of a dead or overdue run";
        const lines: string[] = [];
        for (const r of results) {
          if (r.action === "skipped-live") {
            lines.push(`${r.owner} (${r.purpose}): still running, left alone`);
            continue;
          }
          lines.push(`${r.owner} (${r.purpose}): ${r.action}${r.runnerTerminated ? " (overdue runner terminated)" : ""}`);
          for (const o of r.outcomes) lines.push(`  ${o.ok ? "undone" : "FAILED"}  ${o.step.label}${o.error ? `: ${o.error}` : ""}`);
        }
        if (acted.length === 0) lines.push("nothing to undo");
        return lines.join("\n");
      },
    );
    if (partial.length === 0) return 0;
    process.stderr.write(`airlock: ${partial.length} journal(s) could not be fully undone (see above)\n  fix: remove the cause (e.g. start the gate's Toxiproxy again), then run \`airlock recover\` again\n`);
    return 1;
  },
};
