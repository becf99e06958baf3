// Shared by the Automation API's tests, its child harness and its benchmark: the sample spec (a
// sleeping workload, the quickstart's mock model as the one upstream behind the gate), the command
// that checks the gate from inside, and a count of the stacks left in a file backend.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { SandboxSpecInput } from "../../components/spec";
import { requirePulumi, type Sandbox } from "../../automation";

/** The quickstart's task folder (mock_model.py is the target behind the gate). */
export const TASK_DIR = path.resolve(__dirname, "..", "..", "examples", "quickstart");

export function sampleSpec(name: string): SandboxSpecInput {
  return {
    name,
    backend: "local",
    owner: "tests@airlock.dev",
    ttl: "20m",
    workload: { cpus: 0.5, memory: "256MiB", pids: 128, command: ["sleep", "1200"] },
    targets: [{ name: "model-api", command: ["python3", "/opt/task/mock_model.py"], port: 8080 }],
    egress: { allow: [{ name: "model-api", via: "target", target: "model-api", port: 8080 }] },
  } as SandboxSpecInput;
}

/**
 * Run inside the sandbox: the upstream answers through the gate (the name the workload uses), and the
 * target's own address (bypassing the gate) has no route. Prints one JSON line.
 */
export function gateCheckCommand(targetAddress: string, targetPort: number): string[] {
  const py = String.raw`
import json, socket, urllib.request
out = {}
try:
    r = urllib.request.urlopen("http://model-api:8080/v1/models", timeout=15)
    out["gate"] = r.status
except Exception as e:
    out["gate"] = repr(e)
s = socket.socket(socket.AF_INET6 if ":" in ADDR else socket.AF_INET)
s.settimeout(5)
try:
    s.connect((ADDR, PORT)); out["direct"] = "connected"
except OSError as e:
    out["direct"] = e.errno
print(json.dumps(out))
`.replace(/ADDR/g, JSON.stringify(targetAddress)).replace(/PORT/g, String(targetPort));
  return ["python3", "-c", py];
}

/** Where the local sandbox's target really listens (its handle on this host), for the bypass check. */
export async function targetOf(sandbox: Sandbox): Promise<{ address: string; port: number }> {
  const { loadHandle } = await import("../../components/local/handle");
  const h = loadHandle(sandbox.outputs.sandboxId);
  const t = h?.services?.targets["model-api"];
  if (!t) throw new Error(`sandbox ${sandbox.outputs.sandboxId}: no model-api target in its handle`);
  return { address: t.address, port: t.port };
}

/**
 * Stacks in a file backend: `.json` files under .pulumi/stacks/ (removeStack leaves `*.json.bak`
 * behind, which is not a stack).
 */
export function backendStacks(stateDir: string): string[] {
  const dir = path.join(stateDir, ".pulumi", "stacks");
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith(".json"));
}

/**
 * For a describe() block whose tests run the real engine: checks the engine is there before the
 * first test (requirePulumi says how to get one) and gives the block a fresh state directory
 * (its file backend, handed to `use`), removed afterwards unless a stack was left in it — then it
 * stays as evidence.
 */
export function engineStateDir(prefix: string, use: (dir: string) => void): void {
  let stateDir = "";
  before(function () {
    requirePulumi();
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    use(stateDir);
  });
  after(function () {
    if (stateDir && backendStacks(stateDir).length === 0) fs.rmSync(stateDir, { recursive: true, force: true });
  });
}
