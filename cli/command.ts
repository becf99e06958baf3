// The shape every `airlock` subcommand module exports as `command`. It lives apart from the dispatcher
// (cli/main.ts) so that the subcommands depend on this contract only, never on the dispatcher that
// loads them (which would be an import cycle).
export interface Command {
  /** One line for `airlock help`. */
  summary: string;
  usage: string;
  /** Returns the process exit code. */
  run(args: string[]): Promise<number>;
}
