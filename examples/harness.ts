// An eval harness: one evaluation per sample, in parallel, each in its own air-gapped sandbox, each
// sample's record collected. Run: sudo npx ts-node -T examples/harness.ts [--engine auto|pulumi|direct] [--samples N]
// (engine "auto": the Pulumi CLI when one is found, else the direct local path; docs/automation.md).
import * as path from "path";
import { runMany, EngineChoice } from "airlock";

const SAMPLES = ["What is 2+2?", "Name a prime.", "Say hello."];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function main() {
  const engine = (arg("engine") ?? "auto") as EngineChoice;
  const count = Number(arg("samples") ?? SAMPLES.length);
  const samples = Array.from({ length: count }, (_, i) => SAMPLES[i % SAMPLES.length]);
  const specs = samples.map((_, i) => ({
    name: `eval-${i}`,
    backend: "local" as const,
    owner: "harness@example.org",
    ttl: "15m",
    workload: { cpus: 1, memory: "256MiB", pids: 128, command: ["sleep", "900"] },
    targets: [{ name: "model-api", command: ["python3", "/opt/task/mock_model.py"], port: 8080 }],
    egress: { allow: [{ name: "model-api", via: "target" as const, target: "model-api", port: 8080 }] },
  }));
  const taskDir = path.join(__dirname, "quickstart"); // mock_model.py, mounted read-only at /opt/task
  const summary = await runMany(specs, { engine, concurrency: 2, taskDir, onProgress: (e) => console.error(`[${e.index}] ${e.kind}${"reason" in e ? `: ${e.reason}` : ""}`) }, async (sandbox, i) => {
    const r = await sandbox.exec(["python3", "-c", `import json,urllib.request as u;req=u.Request("http://model-api:8080/v1/chat/completions",data=json.dumps({"model":"mock-1","messages":[{"role":"user","content":${JSON.stringify(samples[i])}}]}).encode(),headers={"Content-Type":"application/json"});print(u.urlopen(req,timeout=10).status)`]);
    return { sample: samples[i], exit: r.code, answer: r.stdout.trim(), record: sandbox.outputs.recordLocation };
  });
  console.log(JSON.stringify(summary, null, 2));
  process.exitCode = summary.failed === 0 ? 0 : 1;
}
main();
