// What the `airlock run` and `airlock sandbox ...` commands share about local specs.
//
// Task files: a spec can bring code for its workload and targets (an agent script, a mock model API).
// By convention they sit in a directory named like the spec file, next to it —
// examples/quickstart.yaml -> examples/quickstart/ — which is mounted read-only at /opt/task. Only
// that directory is mounted, not the spec's own directory: the spec itself (kill rules, canary list)
// stays out of the workload's view.
import * as fs from "fs";
import * as path from "path";
import { loadSpecFile, SandboxSpec } from "../spec";

export function conventionalTaskDir(specFile: string): string | undefined {
  const dir = path.join(path.dirname(path.resolve(specFile)), path.basename(specFile).replace(/\.(ya?ml|json)$/i, ""));
  return fs.existsSync(dir) && fs.statSync(dir).isDirectory() ? dir : undefined;
}

export class NotLocalSpec extends Error {
  public readonly hint: string;
  constructor(backend: string) {
    super(`this spec is for backend '${backend}'; \`airlock run\` and \`airlock sandbox\` build local sandboxes`);
    this.hint = `set backend: local, or provision the ${backend} sandbox with \`pulumi up\` (see stacks/)`;
    this.name = "NotLocalSpec";
  }
}

/** Loads and validates a spec (SpecError lists every issue) and checks it is for this backend. */
export function loadLocalSpec(file: string): { spec: SandboxSpec; taskDir?: string; experiment?: string } {
  const spec = loadSpecFile(file);
  if (spec.backend !== "local") throw new NotLocalSpec(spec.backend);
  return {
    spec,
    taskDir: conventionalTaskDir(file),
    experiment: spec.chaos ? path.resolve(path.dirname(path.resolve(file)), spec.chaos.experiment) : undefined,
  };
}
