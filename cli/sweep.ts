// `airlock sweep [--json]`: recover dead runs, destroy expired sandboxes, and remove every
// airlock-named host object that has no live owner. Exit 1 if anything could not be removed.
import { parseArgs } from "util";
import type { Command } from "./main";
import { makeOutput } from "./output";
import { checkHostForCleanup } from "../components/local/sandbox";
import { sweep, SweepReport } from "../components/local/sweep";

function format(r: SweepReport): string {
  const lines = [
    `recovered journals: ${r.recovered.length}${r.recovered.map((x) => `\n  ${x.owner} (${x.purpose}): ${x.action}, ${x.undone} step(s) undone${x.failed.length ? `, failed: ${x.failed.join("; ")}` : ""}`).join("")}`,
    `expired sandboxes destroyed: ${r.expired.length ? r.expired.join(", ") : "none"}`,
    `orphans removed: ${r.orphansRemoved.length}${r.orphansRemoved.map((x) => `\n  ${x}`).join("")}`,
    `live sandboxes left alone: ${r.live.length ? r.live.join(", ") : "none"}`,
  ];
  if (r.skipped.length) lines.push(`left alone: ${r.skipped.map((x) => `\n  ${x}`).join("")}`);
  if (r.failures.length) lines.push(`FAILED: ${r.failures.map((x) => `\n  ${x}`).join("")}`);
  lines.push(r.leftovers.length ? `LEFT ON THE HOST without a live owner: ${r.leftovers.map((x) => `\n  ${x}`).join("")}` : "host objects without a live owner: 0");
  return lines.join("\n");
}

export const command: Command = {
  summary: "recover dead runs, remove expired sandboxes and every Airlock host object without a live owner",
  usage: "airlock sweep [--json]",
  async run(args) {
    const { values } = parseArgs({ args, options: { json: { type: "boolean", default: false } }, allowPositionals: false });
    const out = makeOutput(!!values.json);
    checkHostForCleanup("airlock sweep");
    const report = await sweep({ progress: (m) => out.progress(m) });
    const ok = report.failures.length === 0 && report.leftovers.length === 0;
    out.result({ ok, ...report }, format);
    return ok ? 0 : 1;
  },
};
