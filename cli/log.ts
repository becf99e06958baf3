// `airlock log verify <log> [--head <sha256>] [--json]`: checks a record's hash chain and seal. Any
// edited, deleted, inserted, reordered or cut-off line is reported; exit 1 if the record is not intact.
// Needs no root and no sandbox: a record can be checked anywhere it is copied to.
import { parseArgs } from "util";
import * as fs from "fs";
import type { Command } from "./command";
import { CliError, makeOutput } from "./output";
import { verifyLog } from "../components/record/chain-log";

async function verify(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: "boolean", default: false }, head: { type: "string" } }, allowPositionals: true });
  const out = makeOutput(!!values.json);
  if (positionals.length !== 1) throw new CliError("expected exactly one record file", "usage: airlock log verify <log> [--head <sha256>] [--json]", 2);
  const file = positionals[0];
  if (!fs.existsSync(file)) throw new CliError(`no record at ${file}`, "pass the path `airlock run` printed (records are under /var/lib/airlock/records/)", 2);
  const r = verifyLog(file, { expectedHead: values.head });
  out.result({ file, ...r }, (x) =>
    x.ok ? `ok: ${x.entries} entries, sealed, head ${x.head}` : `NOT INTACT: ${file}\n${x.problems.map((p: string) => `  - ${p}`).join("\n")}`,
  );
  return r.ok ? 0 : 1;
}

export const command: Command = {
  summary: "check a sandbox record's hash chain and seal (airlock log verify <log>)",
  usage: "airlock log verify <log> [--head <sha256>] [--json]",
  async run(args) {
    const [sub, ...rest] = args;
    if (sub !== "verify") throw new CliError(sub ? `unknown subcommand 'log ${sub}'` : "missing subcommand", `usage: ${command.usage}`, 2);
    return verify(rest);
  },
};
