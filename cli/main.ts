// `airlock` command dispatcher. Each command lives in its own module and is loaded only when used, so
// that e.g. `airlock log verify` does not pay for loading the cloud provider SDKs.
import type { Command } from "./command";
import { CliError, reportError } from "./output";

/**
 * Every command, with its one-line summary here so that `airlock help` loads no command module: each
 * module (and what it imports: the spec validators, the local backend, the chaos runner, the cloud
 * SDKs) is required only when its command runs. test/cli-lazy-load.test.ts checks that each summary
 * here is the one its module gives.
 */
export const COMMANDS: Record<string, { summary: string; load: () => Command }> = {
  check: { summary: "build a stack's resources offline (mocks) and check invariants I1–I8", load: () => require("./check").command },
  run: { summary: "create a local sandbox, run its workload, collect the record, destroy it", load: () => require("./run").command },
  sandbox: { summary: "create, exec in, list and destroy detached local sandboxes", load: () => require("./sandbox").command },
  sweep: { summary: "remove expired sandboxes and orphans: on this host (default) or in a cloud (--backend)", load: () => require("./sweep").command },
  log: { summary: "check a sandbox record's hash chain and seal (airlock log verify <log>)", load: () => require("./log").command },
  chaos: { summary: "run or validate a chaos experiment (network faults, packet loss, resource starvation) with guaranteed rollback", load: () => require("./chaos").command },
  recover: { summary: "undo what crashed or killed Airlock runs left behind (sandbox objects, chaos faults)", load: () => require("./recover").command },
  serve: { summary: "serve the control protocol (create/exec/files/destroy) for harnesses such as Inspect AI", load: () => require("./serve").command },
  schema: { summary: "print the JSON Schema of a sandbox spec (or: chaos, stack) for editors and other tools", load: () => require("./schema").command },
};

function help(): string {
  const lines = ["usage: airlock <command> [options]", "", "commands:"];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(9)} ${c.summary}`);
  lines.push("", "Run `airlock <command> --help` for a command's options. --json gives machine-readable output.");
  return lines.join("\n");
}

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  const json = rest.includes("--json");
  let code: number;
  try {
    if (!name || name === "help" || name === "--help" || name === "-h") {
      process.stdout.write(help() + "\n");
      code = name ? 0 : 2;
    } else {
      const entry = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
      if (!entry) throw new CliError(`unknown command '${name}'`, "run `npx airlock help` for the list of commands", 2);
      const command = entry.load();
      if (rest.includes("--help") || rest.includes("-h")) {
        process.stdout.write(`usage: ${command.usage}\n${command.summary}\n`);
        code = 0;
      } else code = await command.run(rest);
    }
  } catch (err) {
    code = reportError(err, json);
  }
  process.exitCode = code;
}
