// A stack of this project (Pulumi.yaml + stacks/Pulumi.<stack>.yaml) driven through the real engine
// by the Automation API, with index.ts as an inline program — so no `pulumi-language-nodejs` is
// needed (the Go module proxy does not serve it; see docs/automation.md "The engine").
//
// The engine runs in a private working folder holding byte-for-byte copies of Pulumi.yaml and the
// stack file: `stack init` with a passphrase writes an `encryptionsalt:` line into the stack file,
// and the checked-in stacks/ must never be edited by a test or a harness. Everything else (the
// program, the task folders it names) is read from this checkout.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Stack } from "@pulumi/pulumi/automation";
import { PROJECT_ROOT, PulumiEngine, engineEnv, EngineEnvOptions, pulumiCommand } from "./engine";

export interface ProjectStack {
  stack: Stack;
  /** The private working folder (copies of Pulumi.yaml and the stack file). */
  workDir: string;
  /** Removes the working folder (not the stack: `stack.workspace.removeStack` does that). */
  dispose(): void;
}

/** Program modules re-evaluated per run: `up` runs the program twice (preview, update) in one process. */
function freshIndex(root: string): () => Promise<Record<string, unknown>> {
  const entry = path.join(root, "index.ts");
  return async () => {
    if (!(process as any)[Symbol.for("ts-node.register.instance")]) require("ts-node").register({ transpileOnly: true, project: path.join(root, "tsconfig.json") });
    delete require.cache[require.resolve(entry)];
    return { ...require(entry) };
  };
}

export async function openProjectStack(stackName: string, engine: PulumiEngine, opts: EngineEnvOptions & { root?: string } = {}): Promise<ProjectStack> {
  const root = opts.root ?? PROJECT_ROOT;
  const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
  const stackFile = path.join(root, "stacks", `Pulumi.${stackName}.yaml`);
  if (!fs.existsSync(stackFile)) throw new Error(`no stack file ${stackFile}; the project's stacks are: ${fs.readdirSync(path.join(root, "stacks")).join(", ")}`);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `airlock-stack-${stackName}-`));
  fs.mkdirSync(path.join(workDir, "stacks"));
  fs.copyFileSync(path.join(root, "Pulumi.yaml"), path.join(workDir, "Pulumi.yaml"));
  fs.copyFileSync(stackFile, path.join(workDir, "stacks", `Pulumi.${stackName}.yaml`));
  const dispose = () => fs.rmSync(workDir, { recursive: true, force: true });
  try {
    const project = /^name:\s*(\S+)/m.exec(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"))![1];
    const stack = await LocalWorkspace.createOrSelectStack(
      { stackName, projectName: project, program: freshIndex(root) },
      { workDir, pulumiCommand: await pulumiCommand(engine), envVars: engineEnv(engine, opts) },
    );
    return { stack, workDir, dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}
