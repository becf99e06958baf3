// Where a SandboxSpec comes from: a YAML file (the CLI), a Pulumi stack file (`airlock check`), or
// the stack config key `airlock:sandbox` (the Pulumi program). All three go through `validateSpec`,
// so the same document is accepted or refused the same way everywhere.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { SpecError } from "./issues";
import { validateSpec } from "./validate";
import type { SandboxSpec } from "./schema";

export const CONFIG_KEY = "airlock:sandbox";

/** Validates a document or throws a SpecError listing every issue. */
export function parseSpec(doc: unknown, source = "spec"): SandboxSpec {
  const result = validateSpec(doc);
  if (!result.ok) throw new SpecError(result.issues, source);
  return result.spec;
}

/** Reads a YAML document. A Pulumi stack file is accepted too: its `config.airlock:sandbox` is used. */
export function readSpecDocument(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e: any) {
    throw new SpecError([{ path: "(file)", value: file, message: `cannot read: ${e.code ?? e.message}`, fix: "pass the path of a spec YAML file" }], file);
  }
  let doc: any;
  try {
    doc = YAML.parse(text);
  } catch (e: any) {
    throw new SpecError([{ path: "(file)", value: file, message: `not valid YAML: ${e.message.split("\n")[0]}`, fix: "fix the YAML syntax at the position given" }], file);
  }
  if (doc && typeof doc === "object" && doc.config && typeof doc.config === "object" && CONFIG_KEY in doc.config) return doc.config[CONFIG_KEY];
  return doc;
}

export function loadSpecFile(file: string): SandboxSpec {
  return parseSpec(readSpecDocument(file), file);
}

/** Path of a stack's config file: stacks/Pulumi.<stack>.yaml (stackConfigDir in Pulumi.yaml). */
export function stackFile(stack: string, root = path.join(__dirname, "..", "..")): string {
  return path.join(root, "stacks", `Pulumi.${stack}.yaml`);
}
