// Which SandboxSpec a stack was built from, as far as a policy pack can tell — the invariants judge a
// graph against the spec's choices (allowlist, retention, canaries, unsafe flags). In order:
//   1. a local sandbox resource carries its spec as an input (components/local/component.ts);
//   2. the pack's config names one (`spec` in the policy config, e.g. for stacks built elsewhere);
//   3. this project's stack file: the URN names project and stack, and when the project is this one
//      (Pulumi.yaml's name), stacks/Pulumi.<stack>.yaml holds `airlock:sandbox`;
//   4. otherwise — a stack not built with Airlock — the strictest spec: every safety default on, no
//      unsafe flag, nothing allowed out, owner and name from the resources' own labels.
// A spec found in 1–3 is validated with the same code as everywhere else; its problems are
// violations.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { CONFIG_KEY, stackFile } from "../components/spec/load";
import { validateSpec } from "../components/spec/validate";
import { sandboxSpecSchema, SandboxSpec, Backend } from "../components/spec/schema";
import type { SpecIssue } from "../components/spec/issues";
import { LABEL_KEYS } from "../components/naming";
import type { EngineResource } from "../components/invariants/engine-graph";

export const PROJECT_ROOT = path.join(__dirname, "..");

export interface SpecSource {
  spec?: SandboxSpec;
  /** Where it came from, for messages. */
  from: string;
  issues: SpecIssue[];
  /** The local sandbox resource it came from, when it did. */
  urn?: string;
}

/** Type-token prefix of each cloud backend's provider. */
export const PROVIDER_PREFIX: Record<Exclude<Backend, "local">, string> = { aws: "aws:", gcp: "gcp:", azure: "azure-native:", kubernetes: "kubernetes:" };

export function backendOfType(type: string): Backend | undefined {
  if (type.startsWith("pulumi-nodejs:dynamic")) return undefined;
  return (Object.entries(PROVIDER_PREFIX) as [Backend, string][]).find(([, p]) => type.startsWith(p))?.[0];
}

/** A local sandbox resource (dynamic provider) and its spec input, if this is one. */
export function localSandboxSpec(r: EngineResource): unknown | undefined {
  return r.type.startsWith("pulumi-nodejs:dynamic") && r.props?.spec && typeof r.props.sandboxName === "string" ? r.props.spec : undefined;
}

/** The spec as written, from a parsed one: the derived fields (ttlMs, waived, ...) are not spec fields. */
function asWritten(spec: any): unknown {
  if (!spec || typeof spec !== "object") return spec;
  const keys = Object.keys((sandboxSpecSchema as any).shape);
  return Object.fromEntries(Object.entries(spec).filter(([k]) => keys.includes(k)));
}

function validated(doc: unknown, from: string, urn?: string): SpecSource {
  const r = validateSpec(doc);
  return r.ok ? { spec: r.spec, from, issues: [], urn } : { from, issues: r.issues, urn };
}

function urnParts(urn: string): { stack: string; project: string } | undefined {
  const m = /^urn:pulumi:([^:]+)::([^:]+)::/.exec(urn);
  return m ? { stack: m[1], project: m[2] } : undefined;
}

function projectName(root: string): string | undefined {
  try {
    return YAML.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"))?.name;
  } catch {
    return undefined;
  }
}

export interface SpecLookup {
  /** A spec from the pack's config. */
  spec?: unknown;
  /** Where this project lives (default: this checkout). */
  projectRoot?: string;
}

export function specForStack(resources: EngineResource[], backend: Backend, o: SpecLookup = {}): SpecSource {
  const local = resources.find((r) => localSandboxSpec(r) !== undefined);
  if (local) return validated(asWritten(localSandboxSpec(local)), `the spec input of ${local.urn}`, local.urn);
  if (o.spec !== undefined) return validated(o.spec, "the policy pack's config (spec)");
  const root = o.projectRoot ?? PROJECT_ROOT;
  const parts = resources.map((r) => urnParts(r.urn)).find(Boolean);
  if (parts && parts.project === projectName(root)) {
    const file = stackFile(parts.stack, root);
    if (fs.existsSync(file)) {
      const doc = YAML.parse(fs.readFileSync(file, "utf8"));
      const raw = doc?.config?.[CONFIG_KEY];
      if (raw !== undefined) return validated(raw, `${path.relative(root, file)} config ${CONFIG_KEY}`);
    }
  }
  return strictestSpec(resources, backend);
}

/** For a stack Airlock did not build: all safety defaults, identity read from the labels it carries. */
export function strictestSpec(resources: EngineResource[], backend: Backend): SpecSource {
  const style = backend === "gcp" ? "gcp" : backend === "kubernetes" ? "kubernetes" : "tags";
  const keys = LABEL_KEYS[style];
  const labelled = (k: string) =>
    resources
      .map((r) => r.props?.tags?.[k] ?? r.props?.labels?.[k] ?? r.props?.metadata?.labels?.[k])
      .find((v) => typeof v === "string" && v.length > 0);
  const sandbox = labelled(keys.sandbox);
  const name = (typeof sandbox === "string" ? sandbox.replace(/-[0-9a-f]{6}$/, "") : "unlabelled").replace(/[^a-z0-9-]/g, "-").slice(0, 30) || "unlabelled";
  const owner = labelled(keys.owner);
  const r = validateSpec({ name, backend, owner: typeof owner === "string" && /^[A-Za-z0-9._@+-]{1,63}$/.test(owner) ? owner : "unknown", workload: { command: ["(not built by Airlock)"] } });
  return r.ok ? { spec: r.spec, from: "no Airlock spec found: the strictest defaults", issues: [] } : { from: "no Airlock spec found", issues: r.issues };
}
