// The SandboxSpec validator: every problem at once (path, value, fix), closed defaults, and opt-outs
// that need an explicit unsafe.* flag.
import * as assert from "assert";
import { validateSpec, parseSpec, SpecError, SpecIssue, DEFAULT_CANARY_FILES } from "../components/spec";

const minimal = () => ({ name: "spec-test", backend: "aws", region: "us-east-2", owner: "alice@lab.org", workload: { command: ["/bin/true"] } });

function issuesOf(doc: unknown): SpecIssue[] {
  const r = validateSpec(doc);
  assert.strictEqual(r.ok, false, "expected the spec to be refused");
  return (r as { issues: SpecIssue[] }).issues;
}

function issueAt(issues: SpecIssue[], path: string): SpecIssue {
  const found = issues.find((i) => i.path === path);
  assert.ok(found, `no issue at ${path}; got ${issues.map((i) => i.path).join(", ")}`);
  return found!;
}

describe("spec validation", () => {
  it("accepts a minimal spec and fills closed defaults", () => {
    const r = validateSpec(minimal());
    assert.ok(r.ok, JSON.stringify(!r.ok && r.issues));
    const s = r.spec;
    assert.deepStrictEqual(s.egress.allow, []);
    assert.deepStrictEqual([s.canaries.enabled, s.canaries.credential], [true, true]);
    assert.deepStrictEqual(s.canaries.files, DEFAULT_CANARY_FILES);
    assert.deepStrictEqual(s.killSwitch.rules.map((r) => r.on).sort(), ["canary", "denied-egress", "oom", "pids-limit"]);
    assert.deepStrictEqual(s.logging, { retentionDays: 30, lockMode: "compliance" });
    assert.strictEqual(s.ttlMs, 4 * 3_600_000);
    // Non-root, and no Airlock marker in the workload's USER/HOME (agents look for signs of evaluation).
    assert.notStrictEqual(s.workload.user, "root");
    assert.ok(!/airlock/i.test(s.workload.user), s.workload.user);
    assert.strictEqual(s.confidential, "none");
    assert.ok(Object.values(s.unsafe).every((v) => v === false));
    assert.deepStrictEqual(s.waived, []);
  });

  it("reports every problem at once, each with path, value and fix", () => {
    const doc: any = minimal();
    doc.egres = { allow: [] }; // typo
    doc.workload.cpus = "two";
    doc.ttl = "forever";
    doc.egress = { allow: [{ name: "x", via: "address", host: "8.8.8.8", port: 70000 }] };
    const issues = issuesOf(doc);
    for (const path of ["egres", "workload.cpus", "ttl", "egress.allow[0].port"]) {
      const i = issueAt(issues, path);
      assert.ok(i.message.length > 0 && i.fix.length > 0, path);
    }
    assert.strictEqual(issueAt(issues, "workload.cpus").value, "two");
    assert.strictEqual(issueAt(issues, "egress.allow[0].host").value, "8.8.8.8"); // public address, cross-field rule still ran
  });

  it("suggests the nearest known field for an unknown key", () => {
    const doc: any = minimal();
    doc.egres = {};
    doc.workload.comand = ["x"];
    assert.match(issueAt(issuesOf(doc), "egres").fix, /did you mean 'egress'/);
    assert.match(issueAt(issuesOf(doc), "workload.comand").fix, /did you mean 'command'/);
  });

  it("refuses sev-snp on a t3.large with a message naming the families", () => {
    const doc: any = { ...minimal(), confidential: "sev-snp", workload: { command: ["x"], machineType: "t3.large" } };
    const i = issueAt(issuesOf(doc), "confidential");
    assert.strictEqual(i.value, "t3.large");
    assert.match(i.message, /m6a\/r6a\/c6a/);
    assert.match(i.fix, /m6a\.large/);
  });

  it("refuses sev-snp outside its regions, and TEE kinds aws does not offer", () => {
    assert.match(issueAt(issuesOf({ ...minimal(), region: "us-west-2", confidential: "sev-snp" }), "region").message, /us-east-2, eu-west-1/);
    assert.match(issueAt(issuesOf({ ...minimal(), confidential: "tdx" }), "confidential").message, /does not offer 'tdx'/);
  });

  it("needs unsafe.unlockedLogs for lockMode none", () => {
    assert.match(issueAt(issuesOf({ ...minimal(), logging: { lockMode: "none" } }), "logging.lockMode").fix, /unsafe\.unlockedLogs/);
    const ok = parseSpec({ ...minimal(), logging: { lockMode: "none" }, unsafe: { unlockedLogs: true } });
    assert.deepStrictEqual(ok.waived, ["unlockedLogs"]);
  });

  it("needs unsafe.runAsRoot for a root workload", () => {
    assert.match(issueAt(issuesOf({ ...minimal(), workload: { command: ["x"], user: "root" } }), "workload.user").fix, /unsafe\.runAsRoot/);
    assert.strictEqual(parseSpec({ ...minimal(), workload: { command: ["x"], user: "root" }, unsafe: { runAsRoot: true } }).workload.user, "root");
  });

  it("needs unsafe.noCanaries to turn canaries off, and canaryAlertOnly to drop the canary kill rule", () => {
    assert.match(issueAt(issuesOf({ ...minimal(), canaries: { enabled: false } }), "canaries.enabled").fix, /unsafe\.noCanaries/);
    assert.ok(validateSpec({ ...minimal(), canaries: { enabled: false }, unsafe: { noCanaries: true } }).ok);
    assert.match(issueAt(issuesOf({ ...minimal(), killSwitch: { rules: [{ on: "oom" }] } }), "killSwitch.rules").fix, /canaryAlertOnly/);
  });

  it("needs unsafe.allowInternet for a public upstream address", () => {
    const egress = { allow: [{ name: "api", via: "address", host: "203.0.113.7", port: 443 }] };
    assert.match(issueAt(issuesOf({ ...minimal(), egress }), "egress.allow[0].host").fix, /unsafe\.allowInternet/);
    assert.ok(validateSpec({ ...minimal(), egress, unsafe: { allowInternet: true } }).ok);
  });

  it("keeps canary files inside the home", () => {
    const issues = issuesOf({ ...minimal(), canaries: { files: [".aws/credentials", "../../etc/cron.d/x", "/etc/passwd"] } });
    issueAt(issues, "canaries.files[1]");
    issueAt(issues, "canaries.files[2]");
    assert.ok(!issues.some((i) => i.path === "canaries.files[0]"));
  });

  it("aws: refuses endpoint services it cannot scope, wrong endpoint ports and non-AMI images", () => {
    const doc: any = {
      ...minimal(),
      workload: { command: ["x"], image: "ubuntu:22.04" },
      egress: { allow: [{ name: "s3x", via: "endpoint", service: "s3express", port: 443 }, { name: "br", via: "endpoint", service: "bedrock-runtime", port: 8443 }] },
    };
    const issues = issuesOf(doc);
    assert.match(issueAt(issues, "egress.allow[0].service").fix, /bedrock-runtime/);
    assert.match(issueAt(issues, "egress.allow[1].port").message, /443/);
    assert.match(issueAt(issues, "workload.image").message, /AMI/);
  });

  it("parseSpec throws a SpecError carrying every issue", () => {
    assert.throws(() => parseSpec({ name: "X", backend: "mars" }, "doc"), (e: any) => e instanceof SpecError && e.issues.length >= 3 && /doc: \d+ problems/.test(e.message));
  });
});
