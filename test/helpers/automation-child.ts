// A harness in its own process, for the SIGTERM test (test/automation.test.ts): runMany with the real
// engine, state in argv[2], `concurrency` = argv[4] of `count` = argv[3] samples. Prints
// "RUNNING <sandboxId> <stackName>" once each sandbox is up and its gate checked, then waits (the test
// SIGTERMs it); automation/sandbox.ts must then destroy every sandbox and exit 143. With argv[5]
// "drain", nothing keeps the loop alive: the library must destroy the sandboxes before Node exits.
import { runMany } from "../../automation";
import { sampleSpec, TASK_DIR, gateCheckCommand, targetOf } from "./automation-fixtures";

const [stateDir, count, concurrency] = [process.argv[2], Number(process.argv[3] ?? 2), Number(process.argv[4] ?? 2)];
// "drain": no timer keeps the process alive, so its event loop runs dry while the sandboxes are live.
const drain = process.argv[5] === "drain";
// AIRLOCK_CHILD_PREFIX names the samples, so the parent can tell this child's host objects from others'.
const prefix = process.env.AIRLOCK_CHILD_PREFIX || "child";
const specs = Array.from({ length: count }, (_, i) => sampleSpec(`${prefix}-${i}`));
void runMany(specs, { engine: "pulumi", stateDir, taskDir: TASK_DIR, concurrency }, async (sb, _i, signal) => {
  const t = await targetOf(sb);
  const r = await sb.exec(gateCheckCommand(t.address, t.port));
  process.stdout.write(`RUNNING ${sb.outputs.sandboxId} ${sb.stackName} ${r.stdout.trim()}\n`);
  // A timer keeps the process alive (a bare pending promise would not: Node would exit when its loop runs dry).
  await new Promise((resolve) => {
    const keepAlive = drain ? undefined : setInterval(() => undefined, 60_000);
    signal.addEventListener("abort", () => (clearInterval(keepAlive), resolve(undefined)), { once: true });
  });
}).then((s) => {
  process.stdout.write(`DONE ${JSON.stringify({ succeeded: s.succeeded, failed: s.failed })}\n`);
});
