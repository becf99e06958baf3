// The CrossGuard policies: one stack policy per invariant I1–I8 (each its own name, so its
// enforcement level is configurable on its own), one for the spec itself, and one that says when a
// stack holds resources of a backend the invariants cannot read yet. Every rule is the one
// `airlock check` runs (components/invariants): this file only turns the engine's resources into
// that graph (components/invariants/engine-graph.ts) and findings into violations.
//
// Kept apart from index.ts, which serves the pack: constructing a PolicyPack starts its gRPC server,
// so tests import these policies and call them directly.
import type { EnforcementLevel, PolicyResource, ReportViolation, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { checkInvariants, INVARIANTS, describeNode } from "../components/invariants";
import type { Finding, InvariantId, Verdict } from "../components/invariants";
import { graphFromEngine, EngineResource } from "../components/invariants/engine-graph";
import { formatIssue } from "../components/spec/issues";
import type { Backend } from "../components/spec/schema";
import { descriptorOf } from "../components/backends";
import { backendOfType, localSandboxSpec, specForStack, SpecLookup, SpecSource } from "./spec-source";

// The analyzer's unknown-value sentinels and proxy unwrapping (preview values not known yet).
// eslint-disable-next-line @typescript-eslint/no-var-requires
const proxy = require("@pulumi/policy/proxy");
const UNKNOWNS = new Set(["unknownBooleanValue", "unknownNumberValue", "unknownStringValue", "unknownArrayValue", "unknownAssetValue", "unknownArchiveValue", "unknownObjectValue"].map((k) => proxy[k]));
const isUnknown = (v: unknown) => UNKNOWNS.has(v as any);
const unwrap = (v: any) => (v && typeof v === "object" && v[proxy.isSpecialProxy] ? v[proxy.getSpecialProxyTarget] : v);

export const POLICY_NAMES: Record<InvariantId, string> = {
  I1: "airlock-i1-no-internet-path",
  I2: "airlock-i2-default-deny-egress",
  I3: "airlock-i3-no-ingress",
  I4: "airlock-i4-least-privilege",
  I5: "airlock-i5-immutable-record",
  I6: "airlock-i6-canaries",
  I7: "airlock-i7-ephemeral",
  I8: "airlock-i8-tee",
  I9: "airlock-i9-kill-rules",
};
export const SPEC_POLICY = "airlock-spec";
export const COVERAGE_POLICY = "airlock-coverage";

interface Analysis {
  spec: SpecSource;
  /** Verdicts per backend present in the stack. */
  verdicts: { backend: Backend; verdicts: Verdict[]; urnOf: (f: Finding) => string | undefined; unknowns: Set<string> }[];
  /** Backends present whose invariant facts have not landed. */
  unchecked: Backend[];
}

function toEngine(r: PolicyResource): EngineResource {
  return { urn: r.urn, type: r.type, name: r.name, props: r.props, parent: r.parent ? { urn: r.parent.urn } : undefined, provider: r.provider, propertyDependencies: r.propertyDependencies };
}

// One analysis per stack run, shared by the ten policies (the engine passes the same array to each).
const cache = new WeakMap<object, Analysis>();

export function analyse(resources: readonly PolicyResource[], lookup: SpecLookup = {}): Analysis {
  const hit = cache.get(resources);
  if (hit) return hit;
  const engine = resources.map(toEngine);
  const backends = [...new Set(engine.map((r) => backendOfType(r.type)).filter((b): b is Backend => !!b))];
  const local = engine.some((r) => r.type.startsWith("pulumi-nodejs:dynamic") && r.props?.spec);
  const spec = specForStack(engine, backends[0] ?? (local ? "local" : "aws"), lookup);
  const analysis: Analysis = { spec, verdicts: [], unchecked: [] };
  for (const backend of backends) {
    const descriptor = descriptorOf(backend);
    if (!descriptor?.facts) {
      analysis.unchecked.push(backend);
      continue;
    }
    // A cloud's resources with every component above them (the checks read parents for roles).
    const own = engine.filter((r) => backendOfType(r.type) === backend || !r.provider);
    const { graph, hasUnknowns } = graphFromEngine(own, { isUnknown, unwrap });
    const s = spec.spec && spec.spec.backend === backend ? spec.spec : specForStack(own, backend, { projectRoot: "/nonexistent" }).spec;
    if (!s) continue;
    const byName = new Map(graph.nodes.map((n) => [describeNode(n), n.urn]));
    analysis.verdicts.push({ backend, verdicts: checkInvariants(graph, s, descriptor), urnOf: (f) => byName.get(f.resource), unknowns: hasUnknowns });
  }
  cache.set(resources, analysis);
  return analysis;
}

/** What a violation says: the finding, then what to change. */
export function violationMessage(id: InvariantId, title: string, f: Finding, unknown: boolean): string {
  const fix = f.waivableBy
    ? `change ${f.resource === "(spec)" || f.resource === "(graph)" ? "the stack" : "this resource"} so that ${id} (${title}) holds, or — only if giving this guarantee up is intended — set unsafe.${f.waivableBy}: true in the sandbox spec`
    : `change ${f.resource === "(spec)" || f.resource === "(graph)" ? "the stack" : "this resource"} so that ${id} (${title}) holds (no unsafe flag allows this)`;
  return `${id} ${title}: ${f.resource}: ${f.message}. Fix: ${fix}.${unknown ? " (Some of its values are not known before the update; it is checked again then.)" : ""}`;
}

export interface PolicyOptions extends SpecLookup {
  /** Enforcement level per policy name (default: mandatory for I1–I8 and the spec, advisory for coverage). */
  levels?: Partial<Record<string, EnforcementLevel>>;
}

export function airlockPolicies(o: PolicyOptions = {}): (StackValidationPolicy | ResourceValidationPolicy)[] {
  const level = (name: string, fallback: EnforcementLevel) => o.levels?.[name] ?? fallback;
  const invariantPolicies: StackValidationPolicy[] = INVARIANTS.map((inv) => ({
    name: POLICY_NAMES[inv.id],
    description: `Airlock ${inv.id}: ${inv.title} (the same check as \`airlock check\`).`,
    enforcementLevel: level(POLICY_NAMES[inv.id], "mandatory"),
    validateStack(args: StackValidationArgs, report: ReportViolation) {
      const a = analyse(args.resources, o);
      for (const per of a.verdicts) {
        const v = per.verdicts.find((x) => x.id === inv.id)!;
        for (const f of v.findings) {
          if (f.waived) continue;
          const urn = per.urnOf(f);
          report(violationMessage(inv.id, inv.title, f, !!urn && per.unknowns.has(urn)), urn);
        }
      }
    },
  }));
  return [
    {
      // A resource policy, not a stack policy: the engine runs these before it creates each resource
      // (stack policies run after an update), so an unsafe spec stops `up` with nothing created.
      name: SPEC_POLICY,
      description: "The sandbox spec a stack was built from is valid: every safety default it turns off has its matching unsafe flag.",
      enforcementLevel: level(SPEC_POLICY, "mandatory"),
      validateResource(args, report) {
        const r = { urn: args.urn, type: args.type, name: args.name, props: args.props };
        // The spec travels on the local sandbox resource; a stack file's spec is judged once, on the stack.
        if (localSandboxSpec(r) === undefined && args.type !== "pulumi:pulumi:Stack") return;
        const source = specForStack([r], "local", o);
        if (localSandboxSpec(r) === undefined && !source.from.includes("config")) return;
        for (const issue of source.issues) report(`spec (${source.from}): ${formatIssue(issue)}`);
      },
    },
    ...invariantPolicies,
    {
      name: COVERAGE_POLICY,
      description: "Every cloud in the stack has invariant facts Airlock can check it with.",
      enforcementLevel: level(COVERAGE_POLICY, "advisory"),
      validateStack(args, report) {
        for (const b of analyse(args.resources, o).unchecked) report(`resources of backend '${b}' cannot be checked for I1–I8 yet: components/${b}/facts.ts has not landed. Fix: check this stack by other means until it does.`);
      },
    },
  ];
}
