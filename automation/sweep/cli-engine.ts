// The sweeper's StackEngine through the Pulumi CLI: `pulumi stack ls`, `stack output`, `destroy`,
// `stack rm`, run in this project (so Pulumi.yaml's backend and stacks/ apply) with the caller's
// environment (PULUMI_BACKEND_URL, passphrase, cloud credentials).
import { execFile } from "child_process";
import * as path from "path";
import type { StackEngine } from "./types";

const PROJECT_ROOT = path.join(__dirname, "..", "..");

function run(pulumi: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(pulumi, [...args, "--non-interactive"], { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`pulumi ${args.slice(0, 2).join(" ")} failed: ${(stderr || err.message).trim().split("\n").slice(-3).join(" | ")}`));
      else resolve(stdout);
    }),
  );
}

export function pulumiCliEngine(o: { pulumi?: string; cwd?: string } = {}): StackEngine {
  const pulumi = o.pulumi ?? process.env.AIRLOCK_PULUMI ?? "pulumi";
  const cwd = o.cwd ?? PROJECT_ROOT;
  return {
    async listStacks() {
      const stacks: { name: string }[] = JSON.parse(await run(pulumi, ["stack", "ls", "--json"], cwd));
      const out = [];
      for (const s of stacks) {
        // A stack with no update yet has no outputs; that is not an error.
        const outputs = await run(pulumi, ["stack", "output", "--json", "--stack", s.name], cwd).then((t) => JSON.parse(t || "{}"), () => ({}));
        out.push({ name: s.name, outputs });
      }
      return out;
    },
    async destroy(stack) {
      await run(pulumi, ["destroy", "--yes", "--skip-preview", "--refresh", "--stack", stack], cwd);
    },
    async removeStack(stack) {
      await run(pulumi, ["stack", "rm", "--yes", "--stack", stack], cwd);
    },
  };
}
