// The local backend under Pulumi: `pulumi up -s local` builds the same sandbox as `airlock sandbox
// create`, through a dynamic provider that calls the same library (nothing is re-implemented here).
//
// The sandbox must outlive the provider process (Pulumi starts and stops it per deployment), so the
// provider asks the shared supervisor to create and own it, exactly like the CLI. `pulumi destroy`
// destroys it through its owner; if the owner is gone, through recovery of its journal.
//
// The dynamic provider runs as serialized JavaScript in Pulumi's provider host, where TypeScript is not
// registered: each call registers ts-node (transpile-only) and loads the library by absolute path.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { SandboxComponentBase, SandboxComponentArgs } from "../sandbox-base";
import type { SandboxSpec } from "../spec/schema";
import { stateDir } from "../host/state";

/** Inputs of one local sandbox resource. */
export interface LocalSandboxInputs {
  spec: SandboxSpec;
  /** The sandbox id, stable per stack (index.ts derives it from org/project/stack). ("id" itself is reserved by Pulumi.) */
  sandboxName: string;
  expiresAt: string;
  owner: string;
  /** Directory mounted read-only at /opt/task (config airlock:localTaskDir). */
  taskDir?: string;
  /** Airlock's state directory (create and delete must agree on it). */
  stateDir: string;
  /** Absolute path of this checkout, for the provider process to load the library from. */
  root: string;
}

export interface LocalSandboxOutputs extends LocalSandboxInputs {
  sandboxId: string;
  recordLocation: string;
  gateEndpoints: Record<string, string>;
}

/** Loads a library module of this checkout inside the provider process. */
function loadLibrary(root: string, stateDirectory: string, module: string): any {
  process.env.AIRLOCK_STATE_DIR = stateDirectory;
  const tsNode = require(path.join(root, "node_modules", "ts-node"));
  if (!(process as any)[Symbol.for("ts-node.register.instance")]) tsNode.register({ transpileOnly: true, project: path.join(root, "tsconfig.json") });
  return require(path.join(root, "components", "local", module));
}

export const localSandboxProvider: pulumi.dynamic.ResourceProvider = {
  async check(olds: Partial<LocalSandboxInputs>, news: LocalSandboxInputs) {
    // The expiry is computed once, when the sandbox is first created, and kept in the stack's state:
    // the program computes "now + ttl" on every run, and taking that would make every `pulumi up` a
    // diff. A new expiry comes only with a new sandbox (a replacing change, or the old one expired).
    const same = (["spec", "sandboxName", "taskDir", "stateDir"] as const).every((k) => JSON.stringify(olds[k]) === JSON.stringify(news[k]));
    const kept = olds.expiresAt && same && Date.parse(olds.expiresAt) > Date.now() ? olds.expiresAt : news.expiresAt;
    return { inputs: { ...news, expiresAt: kept } };
  },

  async diff(_id: string, olds: LocalSandboxInputs, news: LocalSandboxInputs) {
    // The expiry is fixed when the sandbox is created (its owner's timer and journal hold it; check()
    // keeps it in the inputs): a new `pulumi up` alone does not extend it.
    const replaces = (["spec", "sandboxName", "taskDir", "stateDir"] as const).filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
    // Same id before and after: the old sandbox must be gone before the new one is created.
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
  },

  async create(inputs: LocalSandboxInputs) {
    const client = loadLibrary(inputs.root, inputs.stateDir, "supervisor-client.ts");
    const sandbox = loadLibrary(inputs.root, inputs.stateDir, "sandbox.ts");
    const lifecycle = loadLibrary(inputs.root, inputs.stateDir, "lifecycle.ts");
    sandbox.checkHost();
    await lifecycle.recoverDeadSandboxes();
    // The stack's id, unless a sandbox of that id exists or existed on this host: records are kept
    // after a sandbox is gone (sealed; nothing can be appended), so `pulumi destroy` then `pulumi up`,
    // or a second checkout's stack of the same name, gets the next free "<id>-<n>" and its own record.
    const layout = loadLibrary(inputs.root, inputs.stateDir, "layout.ts");
    const handles = loadLibrary(inputs.root, inputs.stateDir, "handle.ts");
    let id = inputs.sandboxName;
    for (let n = 2; handles.loadHandle(id) || fs.existsSync(layout.sandboxLayout(id).record); n++) id = `${inputs.sandboxName}-${n}`;
    const handle = await client.supervisedCreate(inputs.spec, {
      identity: { id, expiresAt: new Date(inputs.expiresAt), owner: inputs.owner },
      taskDir: inputs.taskDir,
      startWorkload: true,
    });
    const outs: LocalSandboxOutputs = {
      ...inputs,
      expiresAt: handle.expiresAt,
      sandboxId: handle.id,
      recordLocation: handle.record,
      gateEndpoints: Object.fromEntries(Object.entries(handle.gate.proxies).map(([name, p]: [string, any]) => [name, p.listen])),
    };
    return { id: handle.id, outs };
  },

  async read(id: string, props: LocalSandboxOutputs) {
    const handles = loadLibrary(props.root, props.stateDir, "handle.ts");
    // Gone from the host (destroyed, expired and swept): tell Pulumi so a refresh drops it.
    return handles.loadHandle(id) ? { id, props } : {};
  },

  async delete(id: string, props: LocalSandboxOutputs) {
    const lifecycle = loadLibrary(props.root, props.stateDir, "lifecycle.ts");
    try {
      await lifecycle.destroySandboxById(id, "pulumi destroy");
    } catch (e: any) {
      if (!/no local sandbox/.test(String(e?.message))) throw e; // already gone is success
    }
  },
};

/** The dynamic resource: one local sandbox. */
export class LocalSandboxResource extends pulumi.dynamic.Resource {
  declare readonly sandboxId: pulumi.Output<string>;
  declare readonly expiresAt: pulumi.Output<string>;
  declare readonly recordLocation: pulumi.Output<string>;
  declare readonly gateEndpoints: pulumi.Output<Record<string, string>>;

  constructor(name: string, props: LocalSandboxInputs, opts?: pulumi.CustomResourceOptions) {
    super(localSandboxProvider, name, { ...props, sandboxId: undefined, recordLocation: undefined, gateEndpoints: undefined }, opts, "airlock", "LocalSandbox");
  }
}

/** The local backend's component (its descriptor: components/local/descriptor.ts): same outputs as every backend. */
export class LocalSandbox extends SandboxComponentBase {
  constructor(name: string, args: SandboxComponentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:local:Sandbox", name, {}, opts);
    const config = new pulumi.Config("airlock");
    const taskDir = config.get("localTaskDir");
    const sandbox = new LocalSandboxResource(
      `${name}-sandbox`,
      {
        spec: args.spec,
        sandboxName: args.identity.id,
        expiresAt: args.identity.expiresAt.toISOString(),
        owner: args.identity.owner,
        taskDir: taskDir ? path.resolve(taskDir) : undefined,
        stateDir: path.resolve(stateDir()),
        root: path.resolve(__dirname, "..", ".."),
      },
      { parent: this },
    );
    this.publishOutputs({ sandboxId: sandbox.sandboxId, expiresAt: sandbox.expiresAt, recordLocation: sandbox.recordLocation, gateEndpoints: sandbox.gateEndpoints });
  }
}
