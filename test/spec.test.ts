// The SandboxSpec validator: every problem at once (path, value, fix), closed defaults, and opt-outs
// that need an explicit unsafe.* flag.
import * as assert from "assert";
import { validateSpec, parseSpec, SpecError, SpecIssue } from "../components/spec";
import { sandboxLabels, LabelStyle } from "../components/naming";

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
    // Written out here, not taken from the code: an emptied or changed default list must fail.
    assert.deepStrictEqual(s.canaries.files, [".aws/credentials", ".ssh/id_ed25519", ".config/gcloud/application_default_credentials.json"]);
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

  it("a TTL over 24h needs unsafe.allowLongTtl, and even then at most 7d; under 1m is refused", () => {
    const ttl = (t: string, unsafe: object = {}) => validateSpec({ ...minimal(), ttl: t, unsafe });
    assert.ok(ttl("24h").ok, "24h is the longest TTL without an opt-out");
    for (const t of ["24h1m", "25h", "2d", "7d"]) {
      const i = issueAt(issuesOf({ ...minimal(), ttl: t }), "ttl");
      assert.strictEqual(i.value, t);
      assert.match(i.message, /longer than the maximum (24h|1d)/);
      assert.match(i.fix, /unsafe\.allowLongTtl: true/);
    }
    const long = ttl("7d", { allowLongTtl: true });
    assert.ok(long.ok, JSON.stringify(!long.ok && long.issues));
    assert.strictEqual(long.spec.ttlMs, 7 * 24 * 3_600_000);
    assert.deepStrictEqual(long.spec.waived, ["allowLongTtl"], "the opt-out is reported as waived");
    assert.match(issueAt(issuesOf({ ...minimal(), ttl: "7d1m", unsafe: { allowLongTtl: true } }), "ttl").message, /longer than the maximum 7d/);
    assert.match(issueAt(issuesOf({ ...minimal(), ttl: "59s" }), "ttl").message, /shorter than 1m/);
    assert.ok(ttl("1m").ok);
  });

  it("tag keys starting with 'airlock' (any case) are reserved; other keys pass", () => {
    const tags = { "airlock:sandbox": "evil", "Airlock-Owner": "x", "AIRLOCK.dev/expires-at": "never", airlock: "y", team: "evals", "my-airlock": "ok", "cost-center": "42" };
    const issues = issuesOf({ ...minimal(), tags });
    const reserved = issues.filter((i) => i.path.startsWith("tags."));
    assert.deepStrictEqual(reserved.map((i) => i.path).sort(), ["tags.AIRLOCK.dev/expires-at", "tags.Airlock-Owner", "tags.airlock", "tags.airlock:sandbox"]);
    for (const i of reserved) assert.match(i.message, /reserved/);
    assert.strictEqual(issueAt(issues, "tags.airlock:sandbox").value, "evil");
    const ok = validateSpec({ ...minimal(), tags: { team: "evals", "my-airlock": "ok" } });
    assert.ok(ok.ok, JSON.stringify(!ok.ok && ok.issues));
    assert.deepStrictEqual(ok.spec.tags, { team: "evals", "my-airlock": "ok" });
  });

  it("even past the validator, a spec's tags cannot override the identity labels on any platform", () => {
    const identity = { id: "spec-test-abc123", expiresAt: new Date("2026-03-02T14:00:00Z"), owner: "alice@lab.org" };
    const keys: Record<LabelStyle, string[]> = {
      tags: ["airlock:sandbox", "airlock:expires-at", "airlock:owner"],
      gcp: ["airlock-sandbox", "airlock-expires-at", "airlock-owner"],
      kubernetes: ["airlock.dev/sandbox", "airlock.dev/expires-at", "airlock.dev/owner"],
    };
    for (const style of ["tags", "gcp", "kubernetes"] as LabelStyle[]) {
      const evil = Object.fromEntries(keys[style].flatMap((k) => [[k, "forged"], [k.toUpperCase(), "forged"]]));
      const labels = sandboxLabels(identity, style, evil);
      for (const k of keys[style]) assert.ok(labels[k] !== undefined && labels[k] !== "forged", `${style}: ${k} = ${labels[k]}`);
      assert.match(labels[keys[style][0]], /^spec-test-abc123$/, `${style}: the sandbox id`);
      assert.match(labels[keys[style][1]], /^2026-03-02t14[:-]00[:-]00z$/i, `${style}: the expiry`);
    }
  });

  // The local backend tallies refused socket calls up to 1 MiB of one-byte entries (1,048,576, written
  // out here): a denied-egress threshold above that might never be reached, so it is refused, not
  // silently kept. Other backends count elsewhere and keep any threshold.
  it("local: a denied-egress threshold above 1048576 (the refusal tally's cap) is refused, naming the field; the cap itself is accepted", () => {
    const local = (threshold: number) => ({ name: "spec-test", backend: "local", owner: "alice@lab.org", workload: { cpus: 1, command: ["/bin/true"] }, killSwitch: { rules: [{ on: "canary" }, { on: "denied-egress", threshold }] } });
    const i = issueAt(issuesOf(local(1_048_577)), "killSwitch.rules[1].threshold");
    assert.strictEqual(i.value, 1_048_577);
    assert.match(i.fix, /at most 1048576/);
    assert.match(i.message, /refused socket calls/);
    for (const ok of [1_048_576, 20]) {
      const r = validateSpec(local(ok));
      assert.ok(r.ok, `${ok}: ${JSON.stringify(!r.ok && r.issues)}`);
    }
    const aws: any = { ...minimal(), killSwitch: { rules: [{ on: "canary" }, { on: "denied-egress", threshold: 5_000_000 }] } };
    assert.ok(validateSpec(aws).ok, "the cap is the local backend's, not every backend's");
  });

  it("parseSpec throws a SpecError carrying every issue", () => {
    assert.throws(() => parseSpec({ name: "X", backend: "mars" }, "doc"), (e: any) => e instanceof SpecError && e.issues.length >= 3 && /doc: \d+ problems/.test(e.message));
  });
});
