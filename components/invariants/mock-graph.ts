// Builds a stack's resource graph under Pulumi's mock runtime: no cloud account, no Pulumi CLI, no
// network. The same code serves `airlock check` and the tests.
//
//   buildGraph(program, options)    runs any Pulumi program function and records what it registers
//   buildStackGraph(stack)          runs this project's program (index.ts) with the config from
//                                   stacks/Pulumi.<stack>.yaml; the spec is validated first, so a
//                                   bad spec throws a SpecError before anything is registered
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEY, parseSpec, stackFile } from "../spec/load";
import { SpecError } from "../spec/issues";
import type { SandboxSpec } from "../spec/schema";
import { GraphNode, ResourceGraph } from "./graph";
import type { CloudMocks, MockContext } from "./mock-types";
import { allDescriptors } from "../backends";
import { suspendPulumiStackCapture } from "./mock-stack-capture";

/** Every backend's mocks (from its descriptor); a program may use several providers. */
export const CLOUD_MOCKS: CloudMocks[] = allDescriptors().flatMap((d) => (d.mocks ? [d.mocks] : []));

export const MOCK_ACCOUNT = "123456789012";

/** Collects what a program registers; pass your own to inspect a run that failed. */
export class GraphRecorder {
  readonly nodes: GraphNode[] = [];
  readonly invokes: { token: string; inputs: Record<string, any> }[] = [];
  get graph(): ResourceGraph {
    return new ResourceGraph(this.nodes);
  }
}

export interface BuildOptions {
  project?: string;
  stack?: string;
  organization?: string;
  /** Stack config, `namespace:key` -> string (objects as JSON). */
  config?: Record<string, string>;
  /** `pulumi preview` instead of `up` (isDryRun()). */
  preview?: boolean;
  recorder?: GraphRecorder;
  mocks?: CloudMocks[];
  /** Region the mocks put in ARNs when the config names none (`aws:region`). */
  region?: string;
  /** Keep the SDK's per-resource and per-promise stack capture (mock-stack-capture.ts); the bench's baseline. */
  keepStackCapture?: boolean;
}

export interface BuiltGraph {
  graph: ResourceGraph;
  /** The program's exports (stack outputs), resolved. */
  outputs: Record<string, unknown>;
  elapsedMs: number;
}

/** A plain deep copy of registered inputs; values that are not data (promises inside assets) become "<unresolved>". */
/** Pulumi's wire signature of a secret value (@pulumi/pulumi runtime/rpc: specialSigKey, specialSecretSig). */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export function plainCopy(value: unknown): any {
  if (value === null || typeof value !== "object") return typeof value === "function" ? "<function>" : value;
  if (typeof (value as any).then === "function") return "<unresolved>";
  if (Array.isArray(value)) return value.map(plainCopy);
  // A secret input arrives wrapped ({ <sig key>: <secret sig>, value }): the graph keeps the value,
  // so checks read what the resource receives (e.g. a startup script that carries a canary key).
  if ((value as any)[SECRET_SIG_KEY] === SECRET_SIG) return plainCopy((value as any).value);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainCopy(v)]));
}

function urnOf(stack: string, project: string, type: string, name: string, parent?: string): string {
  // Same scheme as the mock monitor: the parent's type chain, then this type.
  const qualified = parent ? `${parent.split("::")[2]}$${type}` : type;
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/** Runs `program` as a Pulumi stack under mocks and returns every resource it registered. */
export async function buildGraph(program: () => Promise<Record<string, unknown> | void>, opts: BuildOptions = {}): Promise<BuiltGraph> {
  const started = Date.now();
  const project = opts.project ?? "airlock";
  const stack = opts.stack ?? "stack";
  const recorder = opts.recorder ?? new GraphRecorder();
  const config = opts.config ?? {};
  const cloudMocks = opts.mocks ?? CLOUD_MOCKS;
  const ctx: MockContext = { region: config["aws:region"] ?? opts.region ?? "us-east-1", account: MOCK_ACCOUNT };

  // The mock monitor does not tell `newResource` the parent. It calls `newResource` synchronously
  // inside `registerResource`, so the request being registered is known at that moment.
  let registering: { parent?: string } | undefined;

  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const parent = registering?.parent || undefined;
        const cloud = cloudMocks.find((m) => m.handles(args.type));
        const { id, state } = args.custom && cloud ? cloud.newResource(args.type, args.name, args.inputs, ctx) : { id: args.custom ? `${args.name}-id` : undefined, state: args.inputs };
        recorder.nodes.push({ urn: urnOf(stack, project, args.type, args.name, parent), type: args.type, name: args.name, inputs: plainCopy(args.inputs), id, state, parent, custom: args.custom ?? false });
        return { id: id ?? "", state };
      },
      call(args) {
        recorder.invokes.push({ token: args.token, inputs: args.inputs });
        try {
          for (const m of cloudMocks) {
            const result = m.call(args.token, args.inputs, ctx);
            if (result) return result;
          }
        } catch (e: any) {
          throw invokeRefused(args.token, String(e?.message ?? e));
        }
        throw invokeRefused(args.token, "no mock answer for this provider function; add one to the backend's mocks (components/<backend>/mocks.ts)");
      },
    },
    project,
    stack,
    opts.preview ?? false,
    opts.organization ?? "organization",
  );
  const monitor = pulumi.runtime.getMonitor() as any;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: any) => {
    registering = { parent: req.getParent?.() };
    try {
      return register(req, callback);
    } finally {
      registering = undefined;
    }
  };
  // A component's registered outputs are what the engine hands an analyzer as its properties (seen
  // with the pinned engine: `validateStack` gets `registerOutputs` values, preview and up alike), so the
  // graph keeps them as the component's inputs and state — e.g. the AWS sandbox's adopted account trail.
  const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req: any, callback: any) => {
    // By type and name: the mock monitor qualifies a URN's type by the parent's last type only, the
    // recorder (like the engine) by the whole chain.
    const parts = String(req.getUrn()).split("::");
    const [type, name] = [parts[2]?.split("$").pop(), parts.slice(3).join("::")];
    const node = recorder.nodes.find((n) => !n.custom && n.type === type && n.name === name);
    if (node) {
      const outputs = plainCopy(req.getOutputs()?.toJavaScript?.() ?? {});
      node.inputs = { ...node.inputs, ...outputs };
      node.state = { ...node.state, ...outputs };
    }
    return registerOutputs(req, callback);
  };
  pulumi.runtime.setAllConfig(config);

  const waitForRPCs = () => (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  // A failure inside the runtime (a refused invoke, an input that cannot be serialised) rejects a
  // promise nobody awaits: the real engine's host exits on it, but under mocks the outputs of the
  // resource it belonged to never resolve, so everything downstream waits for ever. The first such
  // rejection during this run is the program's failure.
  const failure = firstUnhandledRejection();
  let outputs: Record<string, unknown> | undefined;
  const restoreStackCapture = opts.keepStackCapture ? () => undefined : suspendPulumiStackCapture();
  try {
    outputs = (await Promise.race([pulumi.runtime.runInPulumiStack(async () => (await program()) ?? {}), failure.rejected])) as Record<string, unknown>;
    await Promise.race([waitForRPCs(), failure.rejected]);
  } catch (e) {
    // Let the registrations still in flight land in the recorder, but do not wait for those that hang
    // on the failed resource's outputs.
    await Promise.race([waitForRPCs().catch(() => undefined), delay(FAILED_RUN_DRAIN_MS)]);
    throw e;
  } finally {
    failure.dispose();
    restoreStackCapture();
  }
  return { graph: recorder.graph, outputs: outputs ?? {}, elapsedMs: Date.now() - started };
}

/** How long a failed run may still land registrations that were in flight. */
const FAILED_RUN_DRAIN_MS = 500;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * The runtime turns a mock's error into `new Error(err.details)` (grpc style): an error without
 * `details` loses its message. This one keeps the provider function and the reason.
 */
export function invokeRefused(token: string, reason: string): Error {
  const err = new Error(`provider function ${token} failed: ${reason}`);
  (err as Error & { details: string }).details = err.message;
  return err;
}

/** Error raised when the program failed inside the Pulumi runtime (not in the program's own code). */
export class ProgramFailed extends Error {
  constructor(readonly cause: unknown) {
    super(`the Pulumi program failed while registering resources: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** A promise that rejects with the first unhandled rejection of the process, until disposed. */
function firstUnhandledRejection(): { rejected: Promise<never>; dispose(): void } {
  let reject!: (e: unknown) => void;
  const rejected = new Promise<never>((_, r) => (reject = r));
  rejected.catch(() => undefined); // the race above observes it; unobserved it must not itself be unhandled
  // A spec the cloud refuses (components/aws/images.ts) stays a SpecError: the CLI prints its issues.
  const onRejection = (reason: unknown) => reject(reason instanceof SpecError ? reason : new ProgramFailed(reason));
  process.on("unhandledRejection", onRejection);
  return { rejected, dispose: () => process.off("unhandledRejection", onRejection) };
}

/** Root of this repository (where Pulumi.yaml and index.ts live). */
export const PROJECT_ROOT = path.join(__dirname, "..", "..");

/** A stack file's `config:` as Pulumi passes it to the program: strings, objects as JSON. */
export function readStackConfig(file: string): Record<string, string> {
  let doc: any;
  try {
    doc = YAML.parse(fs.readFileSync(file, "utf8"));
  } catch (e: any) {
    throw new SpecError([{ path: "(file)", value: file, message: e.code === "ENOENT" ? "no such stack file" : `cannot read: ${String(e.message).split("\n")[0]}`, fix: "pass the name of a stack under stacks/ (stacks/Pulumi.<name>.yaml)" }], file);
  }
  const config = doc?.config ?? {};
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

export interface StackGraph extends BuiltGraph {
  stack: string;
  file: string;
  spec: SandboxSpec;
}

/**
 * Runs this project's Pulumi program for `stack` under mocks. The spec is validated before the
 * program starts: a bad spec throws a SpecError (every issue listed) and registers nothing.
 */
export async function buildStackGraph(stack: string, opts: { file?: string; root?: string; recorder?: GraphRecorder; preview?: boolean } = {}): Promise<StackGraph> {
  const root = opts.root ?? PROJECT_ROOT;
  const file = opts.file ?? stackFile(stack, root);
  return buildConfigGraph(stack, readStackConfig(file), { ...opts, root, source: file });
}

/** Like buildStackGraph, from stack config already in hand (tests build spec variants this way). */
export async function buildConfigGraph(
  stack: string,
  config: Record<string, string>,
  opts: { root?: string; recorder?: GraphRecorder; preview?: boolean; source?: string; keepStackCapture?: boolean; mocks?: CloudMocks[] } = {},
): Promise<StackGraph> {
  const root = opts.root ?? PROJECT_ROOT;
  const source = opts.source ?? `stack '${stack}'`;
  if (config[CONFIG_KEY] === undefined)
    throw new SpecError([{ path: `config.${CONFIG_KEY}`, value: undefined, message: "the stack has no sandbox spec", fix: `add config: ${CONFIG_KEY}: {...} to the stack file` }], source);
  const spec = parseSpec(JSON.parse(config[CONFIG_KEY]), `${source} config ${CONFIG_KEY}`);
  const entry = require.resolve(path.join(root, "index.ts"));
  const built = await buildGraph(
    async () => {
      // The program registers its resources when loaded; load it afresh for every stack.
      delete require.cache[entry];
      return { ...require(entry) };
    },
    { project: "airlock", stack, config, recorder: opts.recorder, preview: opts.preview, region: spec.region, keepStackCapture: opts.keepStackCapture, mocks: opts.mocks },
  );
  return { ...built, stack, file: source, spec };
}
