// The CrossGuard pack (policy/) called directly, on every stack in stacks/ (no violations) and on the
// conformance table's mutation cases of every descriptor (each flagged by the invariant's own policy, at the mandatory level, with a
// message that says what to change) — in both phases the engine calls a pack: a preview (references
// unknown, no outputs) and after an update (values known).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { buildStackGraph } from "./helpers/pulumi-mocks";
import { engineResources, Phase, runPolicies, Violation } from "./helpers/policy-harness";
import { COVERAGE_POLICY, POLICY_NAMES, SPEC_POLICY } from "../policy/policies";
import { allDescriptors, descriptorOf } from "../components/backends";
import { MUTATION_KINDS, MutationCase, mutationTitle } from "../components/backend-descriptor";
import { INVARIANTS } from "../components/invariants";
import type { InvariantId, ResourceGraph } from "../components/invariants";
import type { StackGraph } from "../components/invariants/mock-graph";

const STACKS = fs
  .readdirSync(path.join(__dirname, "..", "stacks"))
  .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
  .filter((s): s is string => !!s);

const PHASES: Phase[] = ["preview", "up"];

// Each stack file built once, shared by the stack rows and the mutation cases (which clone it).
const built = new Map<string, Promise<StackGraph>>();
const graphOf = (stack: string) => built.get(stack) ?? built.set(stack, buildStackGraph(stack)).get(stack)!;

// Cloud stacks are judged as after an update (values known). At a preview, references hidden inside
// values the engine does not know yet (JSON policy documents, route-table ids that are outputs) are
// not resolvable, and the fail-closed pack reports them: a known limitation (see docs/policy.md).
describe("policy pack: every stack in stacks/ passes", function () {
  this.timeout(300_000); // building the 100-sandbox k8s-fleet graph took 114 s on a loaded 2-core host
  for (const stack of STACKS) {
    const phases: Phase[] = stack === "local" ? PHASES : ["up"];
    for (const phase of phases) {
      it(`${stack} (${phase}): no violation (a backend without invariant facts yet: only the advisory coverage notice)`, async () => {
        const { graph, spec } = await graphOf(stack);
        const violations = await runPolicies(engineResources(graph, phase));
        if (descriptorOf(spec.backend)?.facts || spec.backend === "local") assert.deepStrictEqual(violations, []);
        else assert.deepStrictEqual(violations.map((v) => [v.policy, v.level]), [[COVERAGE_POLICY, "advisory"]]);
      });
    }
  }
});

// The conformance table's mutation cases (every descriptor's `mutations`, components/<backend>/
// mutations.ts), not a list of our own: a backend's cases are flagged here as soon as it adds them.
const CASES = allDescriptors()
  .filter((b) => b.facts)
  .flatMap((b) => (b.mutations ?? []).map((c) => ({ backend: b, c })));

async function mutated(c: MutationCase): Promise<ResourceGraph> {
  const base = await graphOf(c.stack);
  const g = base.graph.clone();
  c.mutate(g, base.spec);
  // Mutations edit inputs; after an update of the mutated program the engine's outputs would not
  // echo an input the mutation deleted either (the harness's "up" props are outputs + inputs).
  const before = new Map(base.graph.nodes.map((n) => [n.urn, n]));
  for (const n of g.nodes) for (const k of Object.keys(before.get(n.urn)?.inputs ?? {})) if (!(k in n.inputs)) delete n.state[k];
  return g;
}

/**
 * A violation read back into the finding it reports: violationMessage() writes
 * `<id> <title>: <resource>: <finding>. Fix: <what to change>.` (resources are `type::name`, with
 * no ": " inside).
 */
function parseViolation(id: InvariantId, v: Violation): { resource: string; finding: string; fix: string } | undefined {
  const prefix = `${id} ${INVARIANTS.find((i) => i.id === id)!.title}: `;
  if (!v.message.startsWith(prefix)) return undefined;
  const rest = v.message.slice(prefix.length);
  const sep = rest.indexOf(": ");
  const fixAt = rest.lastIndexOf(". Fix: ");
  if (sep < 0 || fixAt < sep) return undefined;
  return { resource: rest.slice(0, sep), finding: rest.slice(sep + 2, fixAt), fix: rest.slice(fixAt + ". Fix: ".length) };
}

/** The violations of `c.fails`'s own policy that report the case's expected finding. */
function matching(c: MutationCase, violations: Violation[]): Violation[] {
  return violations.filter((v) => {
    if (v.policy !== POLICY_NAMES[c.fails]) return false;
    const p = parseViolation(c.fails, v);
    return !!p && c.finding.resource.test(p.resource) && c.finding.message.test(p.finding);
  });
}

// Cases the pack misses at a preview (it catches them after the update). References nested inside a
// property (an instance's networkInterfaces[].subnetwork, a NIC's ipConfigurations[].subnet.id, a
// VM's networkProfile.networkInterfaces[].id) are placed by engine-graph.ts's nestedTarget, and the
// harness blanks them wherever they sit, as the engine does. Facts that read an output no preview
// has read the inputs that decide it, or match the reference to the resource it names (a service
// account's email, a storage account's name, an identity's principalId: test/policy-preview-facts).
// What is left is a fact nothing decides before the update:
const PREVIEW_GAPS: Record<string, string> = {
  "azure/missing-ttl":
    "the reaper's DELETE names the sandbox group by an ARM id with its subscription, and its grant's scope is a reference to that group, whose subscription no input names (the provider's is ambient), so the unmutated preview already reports no platform TTL (fail-closed)",
};

describe("policy pack: every conformance mutation is flagged", () => {
  it("the conformance table has mutation cases to flag", () => assert.ok(CASES.length >= Object.keys(MUTATION_KINDS).length, `cases: ${CASES.length}`));

  // After an update (values known) the pack must report the case's own finding, exactly as
  // `airlock check` does. At a preview, references hidden in values the engine does not know yet
  // (GCP firewall targets, subnet and network ids) are reported fail-closed instead (docs/policy.md),
  // so there the case must add a mandatory violation of its invariant's policy that the unmutated
  // preview does not have.
  for (const { backend, c } of CASES) {
    for (const phase of PHASES) {
      const gap = PREVIEW_GAPS[`${backend.name}/${c.kind}`] ?? PREVIEW_GAPS[`${backend.name}/*`];
      if (phase === "preview" && gap) {
        it.skip(`${backend.title} ${c.fails} (${c.stack}, preview): ${mutationTitle(c.kind)} (skipped: known preview gap — ${gap})`);
        continue;
      }
      it(`${backend.title} ${c.fails} (${c.stack}, ${phase}): ${mutationTitle(c.kind)}`, async () => {
        const violations = await runPolicies(engineResources(await mutated(c), phase));
        const control = new Set((await runPolicies(engineResources((await graphOf(c.stack)).graph, phase))).map((v) => v.message));
        const own = violations.filter((v) => v.policy === POLICY_NAMES[c.fails]);
        assert.ok(own.length > 0, `${POLICY_NAMES[c.fails]} reported nothing; all: ${JSON.stringify(violations, null, 1)}`);
        const exact = matching(c, violations);
        assert.deepStrictEqual(exact.filter((v) => control.has(v.message)).map((v) => v.message), [], "the unmutated stack already reports it");
        const hits = phase === "up" || exact.length > 0 ? exact : own.filter((v) => !control.has(v.message));
        assert.ok(hits.length > 0, `no new ${c.fails} violation${phase === "up" ? ` on ${c.finding.resource} saying ${c.finding.message}` : ""}:\n${own.map((v) => v.message).join("\n")}`);
        for (const hit of hits) {
          assert.strictEqual(hit.level, "mandatory");
          // What to change: the resource (or the stack, for a finding about what is missing) and the invariant.
          const parsed = parseViolation(c.fails, hit);
          assert.ok(parsed, `not "<id> <title>: <resource>: <finding>. Fix: ...": ${hit.message}`);
          const where = parsed.resource === "(spec)" || parsed.resource === "(graph)" ? "the stack" : "this resource";
          assert.match(parsed.fix, new RegExp(`^change ${where} so that ${c.fails} \\(`));
          if (where === "this resource") assert.ok(hit.urn?.startsWith("urn:"), `violation names its resource's URN: ${hit.urn}`);
        }
      });
    }
  }

  it("enforcement levels are configurable per policy", async () => {
    const { c } = CASES[0];
    const policy = POLICY_NAMES[c.fails];
    const violations = await runPolicies(engineResources(await mutated(c), "up"), { levels: { [policy]: "advisory" } });
    const own = matching(c, violations);
    assert.ok(own.length > 0, JSON.stringify(violations));
    assert.ok(own.every((v) => v.level === "advisory"), JSON.stringify(own));
  });

  it("a local sandbox whose spec opts out of a safety default without the unsafe flag violates the spec policy", async () => {
    const local = await buildStackGraph("local");
    const g = local.graph.clone();
    const sandbox = g.nodes.find((n) => n.inputs?.spec && n.inputs?.sandboxName)!;
    assert.ok(sandbox, "the local stack has its sandbox resource");
    sandbox.inputs.spec.canaries.enabled = false;
    const violations = await runPolicies(engineResources(g, "preview"));
    const spec = violations.filter((v) => v.policy === SPEC_POLICY);
    assert.strictEqual(spec.length, 1, JSON.stringify(violations));
    assert.strictEqual(spec[0].level, "mandatory");
    assert.match(spec[0].message, /canaries\.enabled.*unsafe\.noCanaries/s);
  });
});
