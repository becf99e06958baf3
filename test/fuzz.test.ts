// Property/fuzz tests of the two validators a researcher feeds by hand (sandbox specs and chaos
// experiments): thousands of seeded mutations of the shipped examples — wrong types, huge and tiny
// numbers, Infinity and NaN, missing and unknown keys, unicode, long strings, repeated entries, and
// schedules that used to expand without bound — each refused with issues of the documented shape or
// accepted with its safety properties intact, never an uncaught exception, and each within a time and
// memory bound (a worker thread with a heap limit, terminated at the first case that overruns).
//
// The time bound comes from this run: the slowest of the unmutated examples, validated in the same
// kind of worker just before, times 100 (at least 3 s) — a hang is off by orders of magnitude, a
// loaded host slows both alike.
import * as assert from "assert";
import { BoundExceeded, runBounded, Bounds, WorkerSummary } from "./helpers/bounded-validate";
import { mutatedCase } from "./helpers/mutate";
import { EXPERIMENT_SEEDS, SPEC_SEEDS } from "./helpers/fuzz-seeds";
import { ALLOCATE_FOREVER, SPIN_FOREVER } from "./helpers/validate-worker";

const CASES = Number(process.env.AIRLOCK_FUZZ_CASES ?? 2500);
const SEED = Number(process.env.AIRLOCK_FUZZ_SEED ?? 20260302);
const HEAP_MB = 256;

function describeFailures(kind: string, s: WorkerSummary, seeds: unknown[]): string {
  return s.failures
    .map((f) => {
      const doc = JSON.stringify(mutatedCase(seeds, SEED, f.i).doc);
      return `${kind} case ${f.i} (${f.steps.join(", ")}): ${f.problem}\n    ${(doc ?? "undefined").slice(0, 600)}`;
    })
    .join("\n");
}

/** The same-run time bound: 100x the slowest unmutated example (validated in the same worker first), at least 3 s. */
const boundsFromBaseline = (base: WorkerSummary): Bounds => {
  assert.deepStrictEqual(base.failures, [], "the unmutated examples themselves fail a property");
  return { caseMs: Math.max(3000, Math.ceil(100 * base.maxCaseMs)), heapMb: HEAP_MB };
};

describe("validators under fuzzing: every input refused or accepted, in bounded time and memory", function () {
  this.timeout(300_000);

  for (const [kind, seeds] of [
    ["experiment", EXPERIMENT_SEEDS],
    ["spec", SPEC_SEEDS],
  ] as const) {
    it(`${CASES} mutated ${kind}s: no exception, issues with path and fix, accepted ones safe, each case within the bound`, async () => {
      const baseline = { docs: seeds, count: seeds.length * 20, boundsFrom: boundsFromBaseline };
      const s = await runBounded({ kind, seeds, count: CASES, seed: SEED, baseline }, { caseMs: 60_000, heapMb: HEAP_MB });
      process.stdout.write(`      ${kind}s: ${s.accepted} accepted, ${s.refused} refused; median ${s.medianCaseMs.toFixed(2)} ms, slowest case ${s.maxCase} ${s.maxCaseMs.toFixed(1)} ms (bound ${s.bounds.caseMs} ms: 100x the slowest example, ${s.baseline!.maxCaseMs.toFixed(1)} ms), heap <= ${s.heapUsedMaxMb.toFixed(0)} MB (limit ${s.bounds.heapMb} MB)\n`);
      assert.strictEqual(s.cases, CASES);
      assert.strictEqual(s.failures.length, 0, describeFailures(kind, s, seeds));
      // The mutations must exercise both outcomes, or the properties above were checked on nothing.
      assert.ok(s.refused > CASES / 10 && s.accepted > CASES / 100, `${s.accepted} accepted / ${s.refused} refused: the mutations do not reach both outcomes`);
    });
  }

  // Positive controls for the harness: without them, a bound that never fires would pass everything.
  it("the bounds themselves work: a case that never ends, or allocates without end, is stopped and named", async () => {
    const fine = { name: "fine", actions: [{ fault: "cpu", duration: "1s", params: { quota: "50%" } }] };
    await assert.rejects(
      runBounded({ kind: "experiment", docs: [fine, SPIN_FOREVER], count: 2, seed: 0 }, { caseMs: 300, heapMb: HEAP_MB }),
      (e: any) => e instanceof BoundExceeded && e.caseIndex === 1 && /case 1 did not finish within 300 ms/.test(e.message),
    );
    await assert.rejects(
      runBounded({ kind: "experiment", docs: [fine, ALLOCATE_FOREVER], count: 2, seed: 0 }, { caseMs: 60_000, heapMb: 64 }),
      (e: any) => e instanceof BoundExceeded && e.caseIndex === 1 && /ran out of the 64 MB heap/.test(e.message),
    );
  });
});
