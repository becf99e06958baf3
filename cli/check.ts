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

/**
 * A backend with no resource graph to judge (the local host: its one Pulumi resource is a handle on a
 * sandbox made by host commands). Its spec has been validated and its component built under mocks —
 * what `check` can say offline — and I1–I9 are not claimed here: they are enforced and tested against
 * the running host (`airlock run` refuses a host that lacks a capability; the local-* tests). Exit 0,
 * with no verdicts, rather than an error a user cannot act on.
 */
function hostBackendResult(out: ReturnType<typeof makeOutput>, stack: string, built: { file: string; spec: { backend: string; waived: string[] }; outputs: { sandboxId?: unknown }; graph: { resources: unknown[]; countByType(): Record<string, number> }; elapsedMs: number }): number {
  const note = `backend '${built.spec.backend}' has no cloud resource graph: I1–I9 are enforced and tested on the running host (airlock run checks the host first), not judged offline`;
  const result = {
    ok: true,
    stack,
    file: built.file,
    backend: built.spec.backend,
    specValid: true,
    waivedSafetyDefaults: built.spec.waived,
    resources: { total: built.graph.resources.length, byType: built.graph.countByType() },
    verdicts: [] as unknown[],
    invariantsJudgedOn: "host",
    note,
    elapsedMs: { graph: built.elapsedMs },
  };
  out.result(result, (r: typeof result) =>
    [`stack ${r.stack} (${r.backend}): the spec is valid and the component builds (${r.resources.total} resource${r.resources.total === 1 ? "" : "s"}).`, note, r.waivedSafetyDefaults.length ? `unsafe: ${r.waivedSafetyDefaults.join(", ")}` : "", "OK"].filter(Boolean).join("\n"),
  );
  return 0;
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
    const { descriptorOf } = await import("../components/backends");
    if (!descriptorOf(built.spec.backend)?.facts) return hostBackendResult(out, stack, built);
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
