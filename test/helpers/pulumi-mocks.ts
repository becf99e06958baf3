// Test helpers over the shared mock-graph builder (components/invariants/mock-graph.ts): build a
// stack, or a variant of a stack's spec, through the real Pulumi program; find nodes; read the
// @pulumi/aws type declarations independently of the code under test.
import * as fs from "fs";
import * as path from "path";
import * as assert from "assert";
import { buildConfigGraph, buildStackGraph, GraphRecorder, PROJECT_ROOT, readStackConfig, StackGraph } from "../../components/invariants/mock-graph";
import { CONFIG_KEY, stackFile } from "../../components/spec";
import type { GraphNode, ResourceGraph } from "../../components/invariants/graph";

export { buildStackGraph, GraphRecorder, PROJECT_ROOT };

/** The spec document of a stack file, as written (not validated). */
export function stackSpecDoc(stack: string): any {
  return JSON.parse(readStackConfig(stackFile(stack))[CONFIG_KEY]);
}

/** Builds a stack whose spec is the given stack's spec changed by `change` (and its config by `configChanges`). */
export async function buildVariant(stack: string, change: (doc: any) => void, recorder?: GraphRecorder, configChanges: Record<string, string> = {}): Promise<StackGraph> {
  const config = readStackConfig(stackFile(stack));
  const doc = JSON.parse(config[CONFIG_KEY]);
  change(doc);
  return buildConfigGraph(`${stack}-variant`, { ...config, ...configChanges, [CONFIG_KEY]: JSON.stringify(doc) }, { recorder });
}

export function ofType(g: ResourceGraph, type: string): GraphNode[] {
  return g.nodes.filter((n) => n.type === type);
}

/** The single node of `type` whose logical name ends with `-<suffix>`. */
export function one(g: ResourceGraph, type: string, suffix: string): GraphNode {
  const found = ofType(g, type).filter((n) => n.name.endsWith(`-${suffix}`));
  assert.strictEqual(found.length, 1, `expected one ${type} named *-${suffix}, found ${found.map((n) => n.name).join(", ") || "none"}`);
  return found[0];
}

export function policyOf(node: GraphNode, field = "policy"): any {
  const v = node.inputs[field];
  return typeof v === "string" ? JSON.parse(v) : v;
}

const ARGS_CACHE = new Map<string, boolean>();

/**
 * Whether a resource type's Args declare `tags`, read from node_modules/@pulumi/aws/<module>/<file>.d.ts
 * (independent of the component's own list). `aws:ec2/vpc:Vpc` -> ec2/vpc.d.ts, interface VpcArgs.
 */
export function argsHaveTags(type: string): boolean {
  if (ARGS_CACHE.has(type)) return ARGS_CACHE.get(type)!;
  const [, modulePath, className] = type.split(":");
  const [module, file] = modulePath.split("/");
  const dts = fs.readFileSync(path.join(PROJECT_ROOT, "node_modules", "@pulumi", "aws", module, `${file}.d.ts`), "utf8");
  const start = dts.indexOf(`export interface ${className}Args {`);
  assert.ok(start >= 0, `no ${className}Args in ${module}/${file}.d.ts`);
  const body = dts.slice(start, dts.indexOf("\n}", start));
  const result = /^    tags\?:/m.test(body);
  ARGS_CACHE.set(type, result);
  return result;
}
