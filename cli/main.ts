// `airlock` command dispatcher. Each command lives in its own module and is loaded only when used, so
// that e.g. `airlock log verify` does not pay for loading the cloud provider SDKs.
import { CliError, reportError } from "./output";

export interface Command {
  /** One line for `airlock help`. */
  summary: string;
  usage: string;
  /** Returns the process exit code. */
  run(args: string[]): Promise<number>;
}

const COMMANDS: Record<string, () => Command> = {
  check: () => require("./check").command,
  run: () => require("./run").command,
  sandbox: () => require("./sandbox").command,
  sweep: () => require("./sweep").command,
  log: () => require("./log").command,
  chaos: () => require("./chaos").command,
  recover: () => require("./recover").command,
  serve: () => require("./serve").command,
  schema: () => require("./schema").command,
};

function help(): string {
  const lines = ["usage: airlock <command> [options]", "", "commands:"];
  for (const [name, load] of Object.entries(COMMANDS)) {
    try {
      lines.push(`  ${name.padEnd(9)} ${load().summary}`);
    } catch {
      // A command whose module is not present in this build is simply not listed.
    }
  }
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
      const load = COMMANDS[name];
      if (!load) throw new CliError(`unknown command '${name}'`, "run `npx airlock help` for the list of commands", 2);
      const command = load();
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
