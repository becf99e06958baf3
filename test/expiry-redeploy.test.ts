// The expiry is computed once, at the first deployment, and kept in the stack's state (issue 8 §1.3)
// on every Pulumi cloud backend (components/expiry.ts). Under the mock runtime a "second deployment"
// is the program run again three hours later, with the expiry resource answered as the engine would:
// check(olds = the first deployment's stored state, news = this run's inputs). The same spec must
// then register exactly the same inputs everywhere (labels, tags, GCE terminationTime, Azure's reaper
// deadline, AWS's schedule, pod deadlines); a changed TTL must move every one of them to the new
// expiry and be recorded as an extension. The control: the same program three hours later *without*
// the stored state registers a different expiry, so the comparison can fail.
import * as assert from "assert";
import type { CloudMocks } from "../components/invariants/mock-types";
import { buildConfigGraph, CLOUD_MOCKS, readStackConfig, type StackGraph } from "../components/invariants/mock-graph";
import { CONFIG_KEY, stackFile } from "../components/spec";
import { expiryProvider, keepExpiry, SANDBOX_EXPIRY_TYPE, type ExpiryInputs } from "../components/expiry";
import { parseExpiryLabel } from "../components/naming";
import type { GraphNode } from "../components/invariants/graph";
import { SEALED_KEY_COMMENT } from "../components/azure/names";

const HOUR = 3_600_000;
const EXPIRY_LABEL_KEYS = new Set(["airlock:expires-at", "airlock-expires-at", "airlock.dev/expires-at"]);

/** Runs `fn` with the process clock `aheadMs` in the future (`new Date()`, `Date.now()`). */
async function withClockAhead<T>(aheadMs: number, fn: () => Promise<T>): Promise<T> {
  const RealDate = Date;
  class ShiftedDate extends RealDate {
    constructor(...args: any[]) {
      if (args.length === 0) super(RealDate.now() + aheadMs);
      else super(...(args as [any]));
    }
    static now(): number {
      return RealDate.now() + aheadMs;
    }
  }
  (globalThis as any).Date = ShiftedDate;
  try {
    return await fn();
  } finally {
    (globalThis as any).Date = RealDate;
  }
}

function expiryNode(g: StackGraph): GraphNode {
  const found = g.graph.nodes.filter((n) => n.type === SANDBOX_EXPIRY_TYPE);
  assert.strictEqual(found.length, 1, `one expiry resource per stack, found ${found.length}`);
  return found[0];
}

/** The engine's treatment of the expiry resource, given the state a previous deployment stored. */
function storedExpiryMocks(previous?: StackGraph): CloudMocks {
  const stored = previous ? (expiryNode(previous).state as ExpiryInputs) : undefined;
  return {
    handles: (type) => type === SANDBOX_EXPIRY_TYPE,
    newResource: (_type, name, inputs) => ({ id: `${name}-id`, state: keepExpiry(stored, inputs as ExpiryInputs) }),
    call: () => undefined,
  };
}

async function deploy(stack: string, o: { aheadMs?: number; previous?: StackGraph; ttl?: string } = {}): Promise<StackGraph> {
  const config = readStackConfig(stackFile(stack));
  const doc = JSON.parse(config[CONFIG_KEY]);
  if (o.ttl) doc.ttl = o.ttl;
  return withClockAhead(o.aheadMs ?? 0, () => buildConfigGraph(stack, { ...config, [CONFIG_KEY]: JSON.stringify(doc) }, { mocks: [storedExpiryMocks(o.previous), ...CLOUD_MOCKS] }));
}

/** Every expiry label value anywhere in the graph's inputs (tags, labels, nested boot-disk labels, metadata). */
function expiryLabels(g: StackGraph): Set<string> {
  const out = new Set<string>();
  const walk = (v: any) => {
    if (!v || typeof v !== "object") return;
    for (const [k, x] of Object.entries(v)) {
      if (EXPIRY_LABEL_KEYS.has(k) && typeof x === "string") out.add(x);
      else walk(x);
    }
  };
  for (const n of g.graph.nodes) if (n.type !== SANDBOX_EXPIRY_TYPE) walk(n.inputs);
  return out;
}

/** The platform's own deadline(s), per backend: what would fire at the expiry. */
function platformDeadlines(stack: string, g: StackGraph): unknown[] {
  const of = (t: string) => g.graph.nodes.filter((n) => n.type === t);
  if (stack.startsWith("gcp")) return of("gcp:compute/instance:Instance").map((n) => n.inputs.scheduling.terminationTime);
  if (stack.startsWith("azure")) return of("azure-native:logic:Workflow").flatMap((n) => (n.inputs.definition?.parameters?.expiresAt ? [n.inputs.definition.parameters.expiresAt.defaultValue] : []));
  if (stack.startsWith("aws")) return of("aws:scheduler/schedule:Schedule").map((n) => n.inputs.scheduleExpression);
  return of("kubernetes:core/v1:Pod").map((n) => n.inputs.spec.activeDeadlineSeconds);
}

/**
 * Each node's inputs, except Azure's sealed SSH key: a fresh key pair whose private half is dropped,
 * new on every run, which the engine never sends after creation (the VM's
 * ignoreChanges: ["osProfile.linuxConfiguration.ssh"], components/azure/instance.ts).
 */
function inputsByUrn(g: StackGraph): Map<string, any> {
  const sealed = (v: any): any =>
    typeof v === "string" && v.endsWith(` ${SEALED_KEY_COMMENT}`) ? "<sealed key, ignoreChanges>" : Array.isArray(v) ? v.map(sealed) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sealed(x)])) : v;
  return new Map(g.graph.nodes.filter((n) => n.type !== SANDBOX_EXPIRY_TYPE).map((n) => [n.urn, sealed(n.inputs)]));
}

describe("the expiry is fixed at the first deployment, on every Pulumi backend (components/expiry.ts)", function () {
  this.timeout(300_000);

  it("the provider: check keeps the stored expiry at a later 'now'; a changed TTL extends and is recorded; diff ignores the moved proposal", async () => {
    const first = (await expiryProvider.check!({} as any, { ttlMs: 4 * HOUR, proposed: "2030-01-01T04:00:00.000Z" })).inputs as ExpiryInputs;
    const again = (await expiryProvider.check!(first, { ttlMs: 4 * HOUR, proposed: "2030-01-01T07:00:00.000Z" })).inputs as ExpiryInputs;
    assert.strictEqual(again.expiresAt, "2030-01-01T04:00:00.000Z");
    assert.strictEqual((await expiryProvider.diff!("id", first, again)).changes, false, "a re-run with the same TTL is not a change");
    const longer = (await expiryProvider.check!(again, { ttlMs: 6 * HOUR, proposed: "2030-01-01T09:00:00.000Z" })).inputs as ExpiryInputs;
    assert.strictEqual(longer.expiresAt, "2030-01-01T09:00:00.000Z");
    assert.deepStrictEqual(longer.extensions!.map((e) => [e.fromTtlMs, e.toTtlMs, e.expiresAt]), [[4 * HOUR, 6 * HOUR, "2030-01-01T09:00:00.000Z"]]);
    assert.strictEqual((await expiryProvider.diff!("id", again, longer)).changes, true);
  });

  for (const stack of ["aws", "gcp", "azure", "k8s"]) {
    describe(`stack ${stack}`, () => {
      let first: StackGraph;
      let t0: number;
      before(async () => {
        t0 = Date.now();
        first = await deploy(stack);
      });

      it("the first deployment labels everything with now + TTL, and the expiresAt output says the same", () => {
        const labels = [...expiryLabels(first)];
        assert.strictEqual(labels.length, 1, `one expiry label value across the stack: ${labels.join(", ")}`);
        const at = parseExpiryLabel(labels[0])!.getTime();
        assert.ok(at >= Math.floor((t0 + 4 * HOUR) / 1000) * 1000 && at <= Date.now() + 4 * HOUR, `label ${labels[0]} is not now + 4h`);
        assert.strictEqual(Date.parse(String(first.outputs.expiresAt)), Date.parse(expiryNode(first).state.expiresAt));
        assert.ok(Math.abs(Date.parse(String(first.outputs.expiresAt)) - at) < 1000);
      });

      it("a second deployment three hours later with the same spec registers exactly the same inputs (no relabel, no moved deadline)", async () => {
        const second = await deploy(stack, { aheadMs: 3 * HOUR, previous: first });
        const before = inputsByUrn(first);
        const after = inputsByUrn(second);
        assert.deepStrictEqual([...after.keys()].sort(), [...before.keys()].sort(), "the same resources");
        for (const [urn, inputs] of after) assert.deepStrictEqual(inputs, before.get(urn), `${urn} changed on a re-run`);
        assert.deepStrictEqual(platformDeadlines(stack, second), platformDeadlines(stack, first));
        assert.strictEqual(second.outputs.expiresAt, first.outputs.expiresAt, "the expiresAt output moved");
      });

      it("the control: three hours later without the stored state, the expiry labels and deadlines differ", async () => {
        const fresh = await deploy(stack, { aheadMs: 3 * HOUR });
        assert.notDeepStrictEqual([...expiryLabels(fresh)], [...expiryLabels(first)]);
        if (!stack.startsWith("k8s")) assert.notDeepStrictEqual(platformDeadlines(stack, fresh), platformDeadlines(stack, first));
      });

      it("a changed TTL (the one explicit extension) moves every label and deadline to the new expiry, and is recorded", async () => {
        const t = Date.now() + 3 * HOUR;
        const longer = await deploy(stack, { aheadMs: 3 * HOUR, previous: first, ttl: "6h" });
        const labels = [...expiryLabels(longer)];
        assert.strictEqual(labels.length, 1, labels.join(", "));
        const at = parseExpiryLabel(labels[0])!.getTime();
        assert.ok(at >= Math.floor((t + 6 * HOUR) / 1000) * 1000 && at <= Date.now() + 9 * HOUR, `label ${labels[0]} is not (now + 3h) + 6h`);
        const deadlines = platformDeadlines(stack, longer);
        assert.ok(deadlines.length > 0, "the stack has a platform deadline");
        assert.notDeepStrictEqual(deadlines, platformDeadlines(stack, first));
        if (stack.startsWith("k8s")) assert.ok(deadlines.every((d) => d === 6 * 3600), `pod deadlines ${deadlines}`);
        const state = expiryNode(longer).state as ExpiryInputs;
        assert.deepStrictEqual(state.extensions!.map((e) => [e.fromTtlMs, e.toTtlMs]), [[4 * HOUR, 6 * HOUR]]);
        assert.strictEqual(Date.parse(String(longer.outputs.expiresAt)), Date.parse(state.expiresAt!));
      });
    });
  }
});
