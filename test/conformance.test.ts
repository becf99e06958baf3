// The conformance table (issue 7 §4): every stack file in stacks/ is a row, checked against I1–I9
// through its backend's descriptor — adding a stack file adds a row, with no test code. Then every
// backend's own breakages (its descriptor's `mutations`, components/<backend>/mutations.ts) must
// each fail the invariant they name, and docs/equivalence.md must be what the descriptors render.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { buildStackGraph, PROJECT_ROOT } from "./helpers/pulumi-mocks";
import { checkInvariants } from "../components/invariants";
import type { StackGraph } from "../components/invariants/mock-graph";
import { allDescriptors, descriptorOf } from "../components/backends";
import { MUTATION_KINDS, MutationKind, mutationTitle } from "../components/backend-descriptor";
import { EQUIVALENCE_DOC, renderEquivalence } from "../components/equivalence";

const STACK_DIR = path.join(PROJECT_ROOT, "stacks");
const STACKS = fs
  .readdirSync(STACK_DIR)
  .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
  .filter((s): s is string => !!s)
  .sort();
const INVARIANT_IDS = ["I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8", "I9"];

/** The backend a stack file names, read as written (the build validates it properly). */
function backendOf(stack: string): string {
  const m = /^\s*backend:\s*([a-z]+)\s*$/m.exec(fs.readFileSync(path.join(STACK_DIR, `Pulumi.${stack}.yaml`), "utf8"));
  assert.ok(m, `stacks/Pulumi.${stack}.yaml names no backend`);
  return m[1];
}

const built = new Map<string, Promise<StackGraph>>();
const graphOf = (stack: string) => built.get(stack) ?? built.set(stack, buildStackGraph(stack)).get(stack)!;

describe("conformance table: every stack file, I1–I9", () => {
  it("the table has rows (stacks/ holds stack files)", () => assert.ok(STACKS.length >= 2, `stacks: ${STACKS}`));

  for (const stack of STACKS) {
    const backend = descriptorOf(backendOf(stack));
    if (!backend) {
      it(`${stack}: names a backend the list knows`, () => assert.fail(`stacks/Pulumi.${stack}.yaml: backend '${backendOf(stack)}' is not in components/backends.ts`));
      continue;
    }
    if (!backend.facts) {
      // A named skip: this backend has no resource-graph facts (local: its guarantees are proven
      // against the running host by test/local-*.test.ts; others: until their facts.ts lands).
      it.skip(`${stack}: I1–I9 (skipped: backend '${backend.name}' has no invariant facts${backend.name === "local" ? " — the local-* host tests prove them" : " yet"})`);
      continue;
    }
    it(`${stack} (${backend.title}): every invariant passes, or is waived only by a flag the spec sets`, async function () {
      this.timeout(300_000); // the 100-sandbox k8s-fleet graph took 98 s on a loaded 2-core host
      const { graph, spec } = await graphOf(stack);
      const verdicts = checkInvariants(graph, spec);
      assert.deepStrictEqual(verdicts.map((v) => v.id), INVARIANT_IDS);
      for (const v of verdicts) {
        assert.notStrictEqual(v.status, "fail", `${stack} ${v.id}: ${JSON.stringify(v.findings, null, 1)}`);
        if (v.status === "waived") for (const flag of v.waivedBy) assert.ok(spec.unsafe[flag], `${stack} ${v.id} waived by unsafe.${flag}, which the spec does not set`);
      }
      assert.ok(graph.resources.length > 0, "the stack registers resources");
    });
  }
});

describe("conformance table: every backend's breakages fail the invariant they name", () => {
  for (const backend of allDescriptors().filter((b) => b.facts)) {
    describe(backend.title, () => {
      const cases = backend.mutations ?? [];
      for (const c of cases) {
        it(`${mutationTitle(c.kind)} (${c.stack}) fails ${c.fails}`, async function () {
          this.timeout(300_000); // the 100-sandbox k8s-fleet graph took 98 s on a loaded 2-core host
          const base = await graphOf(c.stack);
          const g = base.graph.clone();
          c.mutate(g, base.spec);
          const v = checkInvariants(g, base.spec, backend).find((x) => x.id === c.fails)!;
          assert.strictEqual(v.status, "fail", `${c.fails} should fail; findings: ${JSON.stringify(v.findings)}`);
          assert.ok(
            v.findings.some((f) => !f.waived && c.finding.resource.test(f.resource) && c.finding.message.test(f.message)),
            `${c.fails}: no unwaived finding on ${c.finding.resource} matching ${c.finding.message}: ${JSON.stringify(v.findings, null, 1)}`,
          );
          assert.ok(checkInvariants(base.graph, base.spec, backend).every((x) => x.status !== "fail"), "the control: the unmutated graph passes");
        });
      }
      // Every kind is expected of every backend with facts; a missing one is a named skip, visible in
      // every run: not applicable (with the backend's reason), or not written yet.
      const have = new Set(cases.map((c) => c.kind));
      const notApplicable = backend.mutationsNotApplicable ?? {};
      for (const kind of Object.keys(MUTATION_KINDS) as MutationKind[]) {
        const why = notApplicable[kind];
        if (why) it(`${MUTATION_KINDS[kind]}: not applicable on ${backend.name} — ${why} (so no case is written)`, () => assert.ok(!have.has(kind), `'${kind}' is declared not applicable (${why}) but components/${backend.name}/mutations.ts has a case for it`));
        else if (!have.has(kind)) it.skip(`${MUTATION_KINDS[kind]} (skipped: no '${kind}' case in components/${backend.name}/mutations.ts yet)`);
      }
    });
  }
});

describe("docs/equivalence.md", () => {
  it("is what the backend descriptors render (regenerate: node -r ts-node/register/transpile-only components/equivalence.ts)", () => {
    assert.strictEqual(fs.readFileSync(EQUIVALENCE_DOC, "utf8"), renderEquivalence());
  });
  it("names every backend and every aspect", () => {
    const doc = renderEquivalence();
    for (const b of allDescriptors()) assert.ok(doc.includes(`| ${b.title} `) || doc.includes(` ${b.title} |`), b.title);
    for (const label of ["Boundary", "Firewall", "DNS", "Workload", "TEE", "Egress gate", "Record", "Canaries", "Kill switch", "TTL"]) assert.match(doc, new RegExp(`^\\| \\*\\*${label}\\*\\* \\|`, "m"));
  });
});
