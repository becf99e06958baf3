// `airlock sweep [--backend local|aws|gcp|azure|kubernetes] [--dry-run] [--json]`
//   local (default): recover dead runs, destroy expired sandboxes, and remove every airlock-named host
//     object that has no live owner.
//   a cloud: find sandboxes past their expires-at label (and stacks whose sandbox is gone) with the
//     platform's listing API and remove them: through `pulumi destroy` of the owning stack when one is
//     known, directly otherwise (automation/sweep/).
// --dry-run prints what would go and changes nothing. Exit 1 if anything could not be removed.
import { parseArgs } from "util";
import type { Command } from "./command";
import { CliError, makeOutput } from "./output";
import { checkHostForCleanup } from "../components/local/sandbox";
import { planLocalSweep, sweep, SweepReport, LocalSweepPlan } from "../components/local/sweep";
import type { CloudSweepReport } from "../automation/sweep";

const USAGE = "airlock sweep [--backend local|aws|gcp|azure|kubernetes] [--scope <region|project|subscription|context>] [--dry-run] [--json]";
const BACKENDS = ["local", "aws", "gcp", "azure", "kubernetes"] as const;

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

function formatLocalPlan(p: LocalSweepPlan): string {
  const list = (xs: string[]) => (xs.length ? xs.map((x) => `\n  ${x}`).join("") : " none");
  return [
    "dry run: nothing was changed",
    `would replay journals:${list(p.recover.map((j) => `${j.owner} (${j.purpose}): ${j.pendingSteps} step(s) pending`))}`,
    `would destroy expired sandboxes:${list(p.expired)}`,
    `would remove:${list(p.orphans)}`,
    `live sandboxes left alone:${list(p.live)}`,
    ...(p.skipped.length ? [`left alone:${list(p.skipped)}`] : []),
  ].join("\n");
}

function formatCloud(r: CloudSweepReport): string {
  const lines = [`${r.dryRun ? "dry run (nothing was changed): " : ""}${r.scope}, ${r.now}`, ...(r.engineNote ? [`note: ${r.engineNote}`] : [])];
  for (const s of r.sandboxes) {
    const verb = { "destroy-stack": r.dryRun ? "would destroy through stack" : "destroyed through stack", "delete-directly": r.dryRun ? "would delete directly" : "deleted directly", keep: "kept" }[s.action];
    lines.push(`  sandbox ${s.sandbox}: ${verb}${s.stack && s.action === "destroy-stack" ? ` '${s.stack}'` : ""} — ${s.reason} (${s.resources.length} resource(s))`);
    if (s.action !== "keep" || s.expired) for (const x of s.resources) lines.push(`    ${x.keep ? "keep" : "-"} ${x.type} ${x.id}${x.keep ? ` (${x.keep})` : ""}`);
  }
  for (const s of r.stacks) lines.push(`  stack ${s.stack}: ${s.action === "keep" ? "kept" : r.dryRun ? "would destroy and remove" : "destroyed and removed"} — ${s.reason}`);
  if (r.sandboxes.length === 0 && r.stacks.length === 0) lines.push("  no Airlock sandbox found");
  if (r.failures.length) lines.push(`FAILED:${r.failures.map((x) => `\n  ${x}`).join("")}`);
  if (r.leftovers.length) lines.push(`STILL LISTED after the sweep:${r.leftovers.map((x) => `\n  ${x}`).join("")}`);
  return lines.join("\n");
}

export const command: Command = {
  summary: "remove expired sandboxes and orphans: on this host (default) or in a cloud (--backend)",
  usage: USAGE,
  async run(args) {
    let values: { json?: boolean; "dry-run"?: boolean; backend?: string; scope?: string; "no-engine"?: boolean };
    try {
      ({ values } = parseArgs({
        args,
        options: { json: { type: "boolean", default: false }, "dry-run": { type: "boolean", default: false }, backend: { type: "string", default: "local" }, scope: { type: "string" }, "no-engine": { type: "boolean", default: false } },
        allowPositionals: false,
      }));
    } catch (e) {
      throw new CliError((e as Error).message, `usage: ${USAGE}`, 2);
    }
    const backend = values.backend!;
    if (!(BACKENDS as readonly string[]).includes(backend)) throw new CliError(`--backend '${backend}' is not a backend`, `use one of: ${BACKENDS.join(", ")}`, 2);
    const out = makeOutput(!!values.json);
    const dryRun = !!values["dry-run"];

    if (backend === "local") {
      if (values.scope) throw new CliError("--scope is for cloud backends", "drop --scope for --backend local", 2);
      checkHostForCleanup("airlock sweep");
      if (dryRun) {
        const plan = await planLocalSweep();
        out.result({ ok: true, dryRun: true, backend, ...plan }, formatLocalPlan);
        return 0;
      }
      const report = await sweep({ progress: (m) => out.progress(m) });
      const ok = report.failures.length === 0 && report.leftovers.length === 0;
      out.result({ ok, backend, ...report }, format);
      return ok ? 0 : 1;
    }

    // Loaded here: a local sweep does not pay for the cloud inventories.
    const { inventoryFor, sweepCloud, pulumiCliEngine } = await import("../automation/sweep");
    let inventory;
    try {
      inventory = inventoryFor(backend as Exclude<(typeof BACKENDS)[number], "local">, { scope: values.scope });
    } catch (e) {
      throw new CliError((e as Error).message, `usage: ${USAGE}`, 2);
    }
    const engine = values["no-engine"] ? undefined : pulumiCliEngine();
    const report = await sweepCloud({ inventory, engine, dryRun, progress: (m) => out.progress(m) });
    const ok = report.failures.length === 0 && report.leftovers.length === 0;
    out.result({ ok, ...report }, formatCloud);
    return ok ? 0 : 1;
  },
};
