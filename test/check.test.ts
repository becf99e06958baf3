// `airlock check` as a user runs it: a subprocess, no cloud account, no Pulumi CLI.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCli } from "./helpers/local-cli";

async function airlock(...args: string[]) {
  const started = Date.now();
  const r = await runCli(args, { env: { AIRLOCK_QUIET: "1" } });
  return { ...r, ms: Date.now() - started };
}

describe("airlock check (subprocess)", () => {
  for (const stack of ["aws", "aws-tee"]) {
    it(`--stack ${stack} --json: exit 0, every invariant passes`, async () => {
      const r = await airlock("check", "--stack", stack, "--json");
      assert.strictEqual(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.strictEqual(out.ok, true);
      assert.deepStrictEqual(out.verdicts.map((v: any) => [v.id, v.status]), ["I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8", "I9"].map((id) => [id, "pass"]));
      assert.strictEqual(out.resources.byType["aws:ec2/instance:Instance"], 3);
      assert.strictEqual(out.resources.total, Object.values(out.resources.byType).reduce((a: number, b: any) => a + b, 0));
      console.log(`      (${stack}: ${out.resources.total} resources, check took ${r.ms}ms wall)`);
    });
  }

  it("--stack local: the spec is validated and the command succeeds, without claiming graph verdicts for a host backend", async () => {
    const r = await airlock("check", "--stack", "local", "--json");
    assert.strictEqual(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.strictEqual(out.ok, true);
    assert.strictEqual(out.backend, "local");
    assert.strictEqual(out.specValid, true);
    assert.strictEqual(out.invariantsJudgedOn, "host");
    assert.deepStrictEqual(out.verdicts, [], "no I1–I9 verdict is claimed offline for the local host");
  });

  it("--file with a local spec that has a bad field still exits 2 naming the field (the host path validates first)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-check-local-"));
    try {
      const local = fs.readFileSync(path.join(__dirname, "..", "stacks", "Pulumi.local.yaml"), "utf8");
      const file = path.join(dir, "Pulumi.bad-local.yaml");
      fs.writeFileSync(file, local.replace(/^(\s*)ttl(Hours|Minutes)?:.*$/m, "$1ttl$2: -5"));
      const r = await airlock("check", "--file", file);
      assert.strictEqual(r.code, 2, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr + r.stdout, /ttl/i);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("prints resource counts and verdicts for people", async () => {
    const r = await airlock("check", "--stack", "aws");
    assert.strictEqual(r.code, 0, r.stderr);
    assert.match(r.stdout, /aws:ec2\/vpc:Vpc\s+1\n/);
    for (const id of ["I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8", "I9"]) assert.match(r.stdout, new RegExp(`^PASS\\s+${id} `, "m"));
  });

  it("--file with logging.lockMode none + unsafe.unlockedLogs: exit 0, I5 WAIVED with the opt-out and each unlocked store named", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-check-unlocked-"));
    try {
      const aws = fs.readFileSync(path.join(__dirname, "..", "stacks", "Pulumi.aws.yaml"), "utf8");
      const unlocked = aws.replace(/^    logging:\n      lockMode: compliance$/m, "    unsafe:\n      unlockedLogs: true\n    logging:\n      lockMode: none");
      assert.notStrictEqual(unlocked, aws, "stacks/Pulumi.aws.yaml no longer spells its lock as this test expects");
      const file = path.join(dir, "Pulumi.unlocked.yaml");
      fs.writeFileSync(file, unlocked);
      const r = await airlock("check", "--file", file);
      assert.strictEqual(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /^WAIVED I5 immutable record .*\(by unsafe\.unlockedLogs\)$/m);
      assert.match(r.stdout, /^\s+waived \(spec\): logging\.lockMode is none: .*\(the explicit opt-out\) \[unsafe\.unlockedLogs\]$/m);
      assert.match(r.stdout, /^\s+waived aws:s3\/bucket:Bucket::.*-record: the log store is not retention-locked \[unsafe\.unlockedLogs\]$/m);
      assert.match(r.stdout, /^\s+waived aws:s3\/bucket:Bucket::.*-artifacts: the artifacts store \(installed files and canaries\) is not retention-locked \[unsafe\.unlockedLogs\]$/m);
      assert.doesNotMatch(r.stdout, /^PASS\s+I5 /m);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("a spec with bad fields", () => {
    let dir: string;
    let file: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-check-"));
      file = path.join(dir, "Pulumi.bad.yaml");
      fs.writeFileSync(
        file,
        [
          "config:",
          "  aws:region: us-east-2",
          "  airlock:sandbox:",
          "    name: bad-spec",
          "    backend: aws",
          "    region: us-east-2",
          "    owner: alice@lab.org",
          "    confidential: sev-snp",
          "    workload:",
          "      cpus: two",
          "      machineType: t3.large",
          "      command: [run]",
          "    egres:",
          "      allow: []",
          "",
        ].join("\n"),
      );
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("exits non-zero and names every field path with the fix", async () => {
      const r = await airlock("check", "--file", file);
      assert.strictEqual(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /nothing was created/);
      assert.match(r.stderr, /- workload\.cpus: .*got 'two'/);
      assert.match(r.stderr, /- egres: unknown field.*did you mean 'egress'/);
      assert.match(r.stderr, /- confidential: 'sev-snp' needs an m6a\/r6a\/c6a instance; got 't3\.large'/);
      assert.doesNotMatch(r.stdout, /PASS|FAIL/);
    });

    it("--json gives the issues to tools", async () => {
      const r = await airlock("check", "--file", file, "--json");
      assert.strictEqual(r.code, 2);
      const out = JSON.parse(r.stdout);
      assert.strictEqual(out.ok, false);
      assert.deepStrictEqual(out.issues.map((i: any) => i.path).sort(), ["confidential", "egres", "workload.cpus"]);
    });
  });

  describe("a stack whose component is mis-wired (test/helpers/check-breaks-firewall.ts adds 0.0.0.0/0 egress to the workload)", () => {
    const broken = { NODE_OPTIONS: `--require ts-node/register/transpile-only --require ${path.join(__dirname, "helpers", "check-breaks-firewall.ts")}` };

    // The control is the first test of this file: the same stack without the injected rule exits 0.
    it("exits 1 and prints a FAIL line for I2 with the offending rule; the others still pass", async () => {
      const r = await runCli(["check", "--stack", "aws"], { env: { AIRLOCK_QUIET: "1", ...broken } });
      assert.strictEqual(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /^FAIL\s+I2 default-deny egress/m);
      assert.match(r.stdout, /^\s+- aws:vpc\/securityGroupEgressRule:SecurityGroupEgressRule::.*injected-open-egress: workload may open all to 0\.0\.0\.0\/0/m);
      for (const id of ["I1", "I3", "I4", "I5", "I6", "I7", "I8", "I9"]) assert.match(r.stdout, new RegExp(`^PASS\\s+${id} `, "m"));
      assert.match(r.stdout, /^FAILED: 8 pass, 1 fail/m);
    });

    it("--json: ok false, exit 1, the failing verdict and its finding", async () => {
      const r = await runCli(["check", "--stack", "aws", "--json"], { env: { AIRLOCK_QUIET: "1", ...broken } });
      assert.strictEqual(r.code, 1, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.strictEqual(out.ok, false);
      const failed = out.verdicts.filter((v: any) => v.status === "fail");
      assert.deepStrictEqual(failed.map((v: any) => v.id), ["I2"]);
      assert.ok(failed[0].findings.some((f: any) => /injected-open-egress/.test(f.resource) && !f.waived), JSON.stringify(failed[0].findings));
    });
  });

  describe("a stack whose workload guard is mis-wired (test/helpers/check-breaks-guard.ts)", () => {
    const broken = (mode: string) => ({ AIRLOCK_QUIET: "1", AIRLOCK_TEST_GUARD_BREAK: mode, NODE_OPTIONS: `--require ts-node/register/transpile-only --require ${path.join(__dirname, "helpers", "check-breaks-guard.ts")}` });
    // The controls: every stack of a VM backend passes I9 unbroken (the first tests of this file for
    // aws; test/conformance.test.ts for every stack file).
    for (const stack of ["aws", "gcp", "azure"]) {
      it(`${stack}: a guard missing the pids-limit rule fails I9 only, exit 1`, async function () {
        this.timeout(300_000);
        const r = await runCli(["check", "--stack", stack, "--json"], { env: broken("missing-rule") });
        assert.strictEqual(r.code, 1, r.stdout + r.stderr);
        const out = JSON.parse(r.stdout);
        assert.deepStrictEqual(out.verdicts.filter((v: any) => v.status === "fail").map((v: any) => v.id), ["I9"]);
        const i9 = out.verdicts.find((v: any) => v.id === "I9");
        assert.ok(i9.findings.some((f: any) => /-workload$/.test(f.resource) && /lacks the kill rule 'pids-limit'/.test(f.message) && !f.waived), JSON.stringify(i9.findings));
      });
      it(`${stack}: no guard installed fails I9, exit 1, with a FAIL line`, async function () {
        this.timeout(300_000);
        const r = await runCli(["check", "--stack", stack], { env: broken("not-installed") });
        assert.strictEqual(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stdout, /^FAIL\s+I9 every kill rule wired/m);
        assert.match(r.stdout, /-workload: the guard's install lacks the config/);
      });
    }
  });

  it("a stack that does not exist is an error, not a crash", async () => {
    const r = await airlock("check", "--stack", "no-such-stack");
    assert.strictEqual(r.code, 2);
    assert.match(r.stderr, /no such stack file/);
  });
});
