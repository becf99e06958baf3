// The policy pack under the real Pulumi engine (bin/setup-tests.d/20-pulumi-engine.sh): a preview of
// the local stack with `--policy-pack policy` passes; a stack whose sandbox spec opts out of a safety
// default without its unsafe flag fails the preview with the mandatory violation, and `up` creates
// nothing. The program runs inline (Automation API) in a copy of the project files, so the stack
// files in stacks/ are used but not written to (stack init adds an encryptionsalt line).
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import { engineEnv, findPulumi } from "../automation/engine";
import { parseSpec } from "../components/spec";
import { identityFor } from "../components/naming";
import { localBackend } from "../components/local/descriptor";
import { listHandles } from "../components/local/handle";

const ROOT = path.join(__dirname, "..");
const POLICY = path.join(ROOT, "policy");

describe("policy pack under the real engine", function () {
  this.timeout(300_000);
  const engine = findPulumi({ ignorePath: true });
  let work: string;
  let env: Record<string, string>;
  before(function () {
    if (!engine) throw new Error("the pinned engine is missing: run `bash bin/setup-tests.d/20-pulumi-engine.sh` (npm test's pretest does)");
    work = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-policy-engine-"));
    fs.mkdirSync(path.join(work, "stacks"));
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(work, "Pulumi.yaml"));
    fs.copyFileSync(path.join(ROOT, "stacks", "Pulumi.local.yaml"), path.join(work, "stacks", "Pulumi.local.yaml"));
    env = engineEnv(engine, { stateDir: path.join(work, "state") });
  });
  after(() => work && fs.rmSync(work, { recursive: true, force: true }));

  async function stackFor(stackName: string, program: () => Promise<any>) {
    // PulumiCommand wants <root>/bin/pulumi.
    const root = path.join(work, "cmd");
    if (!fs.existsSync(root)) {
      fs.mkdirSync(path.join(root, "bin"), { recursive: true });
      fs.symlinkSync(engine!.pulumi, path.join(root, "bin", "pulumi"));
    }
    const pulumiCommand = await PulumiCommand.get({ root });
    return LocalWorkspace.createOrSelectStack({ stackName, projectName: "airlock", program }, { workDir: work, envVars: env, pulumiCommand });
  }

  it("`preview --policy-pack policy` of the local stack passes (no violation)", async () => {
    const entry = require.resolve(path.join(ROOT, "index.ts"));
    const stack = await stackFor("local", async () => {
      delete require.cache[entry];
      return { ...require(entry) };
    });
    const r = await stack.preview({ policyPacks: [POLICY] });
    assert.doesNotMatch(r.stdout, /mandatory|advisory/i, r.stdout);
    assert.strictEqual((r.changeSummary as any).create, 3, JSON.stringify(r.changeSummary));
  });

  it("a stack opting out of canaries without unsafe.noCanaries fails the preview and `up` creates nothing", async () => {
    const before = listHandles().length;
    const stack = await stackFor("unsafe", async () => {
      const spec = parseSpec({ name: "unsafe", backend: "local", owner: "you@example.org", ttl: "10m", workload: { command: ["true"] } });
      // Bypasses parseSpec's refusal on purpose: what a hand-written program could register.
      const unsafe = { ...spec, canaries: { ...spec.canaries, enabled: false } };
      localBackend.loadComponent()("unsafe", { spec: unsafe, identity: identityFor(unsafe, { uniqueSuffix: "policy" }) });
      return {};
    });
    await assert.rejects(stack.preview({ policyPacks: [POLICY] }), (e: any) => {
      assert.match(String(e.message), /airlock-spec/);
      assert.match(String(e.message), /mandatory/);
      assert.match(String(e.message), /canaries\.enabled/);
      return true;
    });
    await assert.rejects(stack.up({ policyPacks: [POLICY] }), /airlock-spec/);
    const state = await stack.exportStack();
    // Components are only bookkeeping; no custom (physical) resource may be in the state.
    assert.deepStrictEqual((state.deployment.resources ?? []).filter((r: any) => r.custom && !r.type.startsWith("pulumi:providers:")).map((r: any) => r.urn), []);
    assert.strictEqual(listHandles().length, before, "no local sandbox was created");
  });
});
