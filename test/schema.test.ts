// `airlock schema` (issue 9 §4): the JSON Schemas generated from the zod schemas, checked by an
// independent validator (Ajv, draft 2020-12) — not by zod, which would only agree with itself.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import Ajv2020 from "ajv/dist/2020";
import * as YAML from "yaml";
import { jsonSchema, jsonSchemaText, SCHEMA_FILES, SCHEMA_KINDS, SchemaKind } from "../components/json-schema";

const ROOT = path.resolve(__dirname, "..");
const DOCUMENTS = [
  ...fs.readdirSync(path.join(ROOT, "stacks")).map((f) => path.join("stacks", f)),
  ...(fs.readdirSync(path.join(ROOT, "examples"), { recursive: true }) as string[]).map((f) => path.join("examples", f)),
].filter((f) => /\.ya?ml$/.test(f));

function validator(kind: SchemaKind) {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  return ajv.compile(jsonSchema(kind));
}

/** The schema a document's `# yaml-language-server: $schema=...` comment names, by kind. */
function namedSchema(file: string): SchemaKind | undefined {
  const first = fs.readFileSync(path.join(ROOT, file), "utf8").split("\n", 1)[0];
  const m = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
  if (!m) return undefined;
  const target = path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, file)), m[1]));
  return SCHEMA_KINDS.find((k) => SCHEMA_FILES[k] === target);
}

describe("schema: JSON Schemas of the spec, chaos experiments and stack files", function () {
  this.timeout(60_000);

  it("airlock schema prints each schema, identical to the committed schema/ file the editors use", () => {
    for (const kind of SCHEMA_KINDS) {
      const r = spawnSync(process.execPath, [path.join(ROOT, "bin", "airlock.js"), "schema", kind], { encoding: "utf8", cwd: ROOT });
      assert.strictEqual(r.status, 0, r.stderr);
      assert.doesNotThrow(() => JSON.parse(r.stdout), `airlock schema ${kind} is not JSON`);
      assert.strictEqual(fs.readFileSync(path.join(ROOT, SCHEMA_FILES[kind]), "utf8"), r.stdout, `${SCHEMA_FILES[kind]} is stale: run node bin/airlock.js schema ${kind} > ${SCHEMA_FILES[kind]}`);
    }
    const bad = spawnSync(process.execPath, [path.join(ROOT, "bin", "airlock.js"), "schema", "nope"], { encoding: "utf8", cwd: ROOT });
    assert.strictEqual(bad.status, 2);
    assert.match(bad.stderr, /unknown schema 'nope'[\s\S]*spec, chaos, stack/);
  });

  it("every schema is itself valid draft 2020-12 (Ajv compiles it in strict mode)", () => {
    for (const kind of SCHEMA_KINDS) new Ajv2020({ strict: true, allowUnionTypes: true }).compile(jsonSchema(kind));
  });

  it("every example and stack file names its schema in a yaml-language-server comment and validates against it", () => {
    assert.ok(DOCUMENTS.length >= 10, `found only ${DOCUMENTS.length} documents`);
    const failures: string[] = [];
    for (const file of DOCUMENTS) {
      const kind = namedSchema(file);
      if (!kind) {
        failures.push(`${file}: no '# yaml-language-server: $schema=...' first line naming one of ${Object.values(SCHEMA_FILES).join(", ")}`);
        continue;
      }
      const validate = validator(kind);
      const doc = YAML.parse(fs.readFileSync(path.join(ROOT, file), "utf8"));
      if (!validate(doc)) failures.push(`${file} (${kind}): ${JSON.stringify(validate.errors)}`);
    }
    assert.deepStrictEqual(failures, []);
  });

  // The schemas must reject, or they prove nothing: each mutation is one a user could make.
  const MUTATIONS: [string, SchemaKind, (d: any) => void, RegExp][] = [
    ["a typo'd top-level key (egres:)", "spec", (d) => (d.egres = d.egress), /additionalProperties/],
    ["an unknown backend", "spec", (d) => (d.backend = "openstack"), /enum/],
    ["a name with capitals", "spec", (d) => (d.name = "Quickstart"), /pattern/],
    ["a port out of range", "spec", (d) => (d.targets[0].port = 70000), /maximum/],
    ["a missing owner", "spec", (d) => delete d.owner, /required/],
    ["an unknown key in a stack's sandbox", "stack", (d) => (d.config["airlock:sandbox"].workload.gpu = 1), /additionalProperties/],
    ["an unknown fault in a chaos experiment", "chaos", (d) => (d.actions[0].fault = "meteor"), /./],
  ];
  for (const [what, kind, mutate, keyword] of MUTATIONS) {
    it(`rejects ${what}`, () => {
      const file = { spec: "examples/quickstart.yaml", stack: "stacks/Pulumi.local.yaml", chaos: "examples/quickstart-latency.yaml" }[kind];
      const doc = YAML.parse(fs.readFileSync(path.join(ROOT, file), "utf8"));
      const validate = validator(kind);
      assert.ok(validate(doc), `control: ${file} unmutated is valid: ${JSON.stringify(validate.errors)}`);
      mutate(doc);
      assert.strictEqual(validate(doc), false, `${what} accepted`);
      assert.match(JSON.stringify(validate.errors), keyword);
    });
  }

  it("the schema text is deterministic (same output twice)", () => {
    for (const kind of SCHEMA_KINDS) assert.strictEqual(jsonSchemaText(kind), jsonSchemaText(kind));
  });
});
