// `airlock schema [spec|chaos|stack]`: the JSON Schema of a SandboxSpec (default), of a chaos
// experiment, or of a Pulumi stack file of this project — generated from the zod schemas that parse
// them (components/json-schema.ts). schema/*.json hold the same text for editors.
import type { Command } from "./command";
import { CliError } from "./output";
import { jsonSchemaText, SCHEMA_KINDS, SchemaKind } from "../components/json-schema";

export const command: Command = {
  summary: "print the JSON Schema of a sandbox spec (or: chaos, stack) for editors and other tools",
  usage: `airlock schema [${SCHEMA_KINDS.join("|")}]`,
  async run(args) {
    const kind = (args.find((a) => !a.startsWith("-")) ?? "spec") as SchemaKind;
    if (!SCHEMA_KINDS.includes(kind)) throw new CliError(`unknown schema '${kind}'`, `use one of: ${SCHEMA_KINDS.join(", ")}`, 2);
    process.stdout.write(jsonSchemaText(kind));
    return 0;
  },
};
