// `airlock check --stack <name> [--json]`: builds the stack's resource graph offline (Pulumi's mock
// runtime: no cloud account, no Pulumi CLI), prints what would be created and each invariant's verdict,
// and exits non-zero if any invariant fails. A spec with a bad field stops before anything is
// registered; the dispatcher prints every SpecError issue (path, value, fix) and exits 2.
import type { Command } from "./command";
import { CliError, makeOutput } from "./output";

interface CheckArgs {
  stack?: string;
  file?: string;
  json: boolean;
}

function parseArgs(args: string[]): CheckArgs {
  const out: CheckArgs = { json: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined || v.startsWith("--")) throw new CliError(`${a} needs a value`, "usage: airlock check --stack <name> [--file <path>] [--json]", 2);
      return v;
    };
    if (a === "--json") out.json = true;
    else if (a === "--stack" || a === "-s") out.stack = value();
    else if (a.startsWith("--stack=")) out.stack = a.slice("--stack=".length);
    else if (a === "--file") out.file = value();
    else throw new CliError(`unknown option '${a}'`, "usage: airlock check --stack <name> [--file <path>] [--json]", 2);
  }
  if (!out.stack && !out.file) throw new CliError("which stack?", "pass --stack <name> (reads stacks/Pulumi.<name>.yaml) or --file <stack file>", 2);
  return out;
}

function table(counts: Record<string, number>): string {
  const width = Math.max(...Object.keys(counts).map((k) => k.length), 4);
  return Object.entries(counts)
    .map(([type, n]) => `  ${type.padEnd(width)}  ${String(n).padStart(3)}`)
    .join("\n");
}

export const command: Command = {
  summary: "build a stack's resources offline (mocks) and check invariants I1–I8",
  usage: "airlock check --stack <name> [--file <path>] [--json]",
  async run(argv) {
    const args = parseArgs(argv);
    const out = makeOutput(args.json);
    const started = Date.now();
    const stack = args.stack ?? "check";
    out.progress(`loading the Pulumi program for stack '${stack}' under mocks (no cloud account, no Pulumi CLI)`);
    // Loaded here, not at the top: `airlock check --help` should not pay for the provider SDKs.
    const { buildStackGraph } = await import("../components/invariants/mock-graph");
    const { checkInvariants, allPass, formatVerdicts } = await import("../components/invariants");
    const built = await buildStackGraph(stack, { file: args.file });
    out.progress(`built ${built.graph.resources.length} resources in ${(built.elapsedMs / 1000).toFixed(1)}s; checking invariants`);
    const verdicts = checkInvariants(built.graph, built.spec);
    const ok = allPass(verdicts);
    const result = {
      ok,
      stack,
      file: built.file,
      backend: built.spec.backend,
      sandboxId: built.outputs.sandboxId,
      waivedSafetyDefaults: built.spec.waived,
      resources: { total: built.graph.resources.length, byType: built.graph.countByType() },
      verdicts,
      elapsedMs: { graph: built.elapsedMs, total: Date.now() - started },
    };
    out.result(result, (r: typeof result) => {
      const counts = verdicts.reduce<Record<string, number>>((acc, v) => ({ ...acc, [v.status]: (acc[v.status] ?? 0) + 1 }), {});
      return [
        `stack ${r.stack} (${r.backend}, sandbox ${r.sandboxId}) — ${r.resources.total} resources:`,
        table(r.resources.byType),
        "",
        "invariants:",
        formatVerdicts(verdicts),
        "",
        `${ok ? "OK" : "FAILED"}: ${Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(", ")}${r.waivedSafetyDefaults.length ? ` (unsafe: ${r.waivedSafetyDefaults.join(", ")})` : ""} — ${(r.elapsedMs.total / 1000).toFixed(1)}s`,
      ].join("\n");
    });
    return ok ? 0 : 1;
  },
};
