// JSON Schemas of Airlock's documents, generated from the zod schemas that parse them (zod 4's
// toJSONSchema): no second copy of any field. `airlock schema` prints them; schema/*.json are the
// same output committed for editors (the yaml-language-server comment at the top of each example and
// stack file points there), and test/schema.test.ts fails when the committed files drift.
//
// What JSON Schema cannot say is left to Airlock's own checks: refinements (durations such as "1h30m",
// sizes such as "4GiB", cross-field rules, backend rules) are not in the schema, so a document the
// schema accepts can still be refused by `airlock check` — with the field named and the fix.
import { z } from "zod";
import { sandboxSpecSchema } from "./spec/schema";
import { actionSchema, experimentSchema } from "../chaos/experiment/schema";
import { CONFIG_KEY } from "./spec/load";

export const SCHEMA_KINDS = ["spec", "chaos", "stack"] as const;
export type SchemaKind = (typeof SCHEMA_KINDS)[number];

/** Where each schema is committed, relative to the repository root (what the `$schema=` comments name). */
export const SCHEMA_FILES: Record<SchemaKind, string> = {
  spec: "schema/sandbox-spec.schema.json",
  chaos: "schema/chaos-experiment.schema.json",
  stack: "schema/pulumi-stack.schema.json",
};

const TITLES: Record<SchemaKind, string> = {
  spec: "Airlock SandboxSpec",
  chaos: "Airlock chaos experiment",
  stack: "Airlock Pulumi stack settings (stacks/Pulumi.<stack>.yaml)",
};

// zod marks `.startsWith()` as format "starts_with", which no JSON Schema validator knows (the
// pattern beside it says the same): dropped so strict validators and editors accept the schema.
const NON_STANDARD_FORMATS = new Set(["starts_with", "ends_with", "includes"]);
function standardize(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(standardize);
  if (!node || typeof node !== "object") return;
  const o = node as Record<string, unknown>;
  if (typeof o.format === "string" && NON_STANDARD_FORMATS.has(o.format) && typeof o.pattern === "string") delete o.format;
  Object.values(o).forEach(standardize);
}

// The input side: what a user writes (fields with defaults are optional), not the parsed result.
function fromZod(schema: z.ZodType): Record<string, any> {
  const out = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<string, any>;
  delete out.$schema;
  standardize(out);
  return out;
}

/** The experiment: its head, and each action (validated one by one by chaos/experiment/validate.ts). */
function experimentJsonSchema(): Record<string, any> {
  const head = fromZod(experimentSchema);
  head.properties.actions.items = fromZod(actionSchema);
  return head;
}

/** One schema, self-contained (draft 2020-12). */
export function jsonSchema(kind: SchemaKind): Record<string, unknown> {
  const head = { $schema: "https://json-schema.org/draft/2020-12/schema", $id: `https://airlock.dev/${SCHEMA_FILES[kind]}`, title: TITLES[kind] };
  if (kind === "spec") return { ...head, ...fromZod(sandboxSpecSchema) };
  if (kind === "chaos") return { ...head, ...experimentJsonSchema() };
  // A stack file is Pulumi's: any config keys and settings, and the SandboxSpec under airlock:sandbox.
  return {
    ...head,
    type: "object",
    properties: {
      config: {
        type: "object",
        properties: { [CONFIG_KEY]: { $ref: "#/$defs/SandboxSpec" }, "airlock:localTaskDir": { type: "string", minLength: 1 } },
        required: [CONFIG_KEY],
      },
    },
    required: ["config"],
    $defs: { SandboxSpec: fromZod(sandboxSpecSchema) },
  };
}

/** The text `airlock schema <kind>` prints and schema/<file> holds. */
export function jsonSchemaText(kind: SchemaKind): string {
  return JSON.stringify(jsonSchema(kind), null, 2) + "\n";
}
