// The AWS backend's pure modules: layout, quoting, first-boot scripts. The scripts are run through
// bash here (syntax check, and the file writer for real), since a quoting bug would be a sandbox
// that does not boot or, worse, runs something the spec did not say.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync } from "child_process";
import { splitCidr, planSandbox } from "../components/aws/plan";
import { sq, systemdQuote, writeFile } from "../components/cloud/shell";
import { awsStoreAccess } from "../components/aws/store-access";
import { renderGateScript, renderWorkloadScript, workloadSetupOf } from "../components/cloud/boot";
import { vmGuardConfig } from "../components/cloud/guard";
import { awsPlatformPaths } from "../components/aws/platform";
import { atExpression } from "../components/aws/ttl";
import { parseSpec } from "../components/spec";

const base = {
  name: "unit",
  backend: "aws",
  region: "us-east-2",
  owner: "t@example.org",
  workload: { command: ["/bin/true"] },
};

describe("aws plan", () => {
  it("splits a range into aligned quarters", () => {
    assert.deepStrictEqual(splitCidr("10.0.0.0/24", 4), ["10.0.0.0/26", "10.0.0.64/26", "10.0.0.128/26", "10.0.0.192/26"]);
    assert.deepStrictEqual(splitCidr("10.77.3.9/16", 4), ["10.77.0.0/18", "10.77.64.0/18", "10.77.128.0/18", "10.77.192.0/18"]);
    assert.throws(() => splitCidr("10.0.0.0/24", 3));
  });

  it("gives each upstream a listener and only public hosts end up in publicAddresses", () => {
    const spec = parseSpec({
      ...base,
      targets: [{ name: "t1", image: "ami-0123456789abcdef0", port: 80 }],
      egress: {
        allow: [
          { name: "db", via: "address", host: "10.1.2.3", port: 5432 },
          { name: "web", via: "target", target: "t1", port: 80, listenPort: 8080 },
          { name: "pub", via: "address", host: "api.example.com", port: 443 },
        ],
      },
      unsafe: { allowInternet: true },
    });
    const plan = planSandbox(spec, "us-east-2");
    assert.deepStrictEqual(
      plan.listeners.map((l) => [l.name, l.listenPort, l.upstream]),
      [["db", 5432, "10.1.2.3:5432"], ["web", 8080, `${plan.targets[0].privateIp}:80`], ["pub", 443, "api.example.com:443"]],
    );
    assert.deepStrictEqual(plan.publicAddresses, [{ host: "api.example.com", port: 443 }]);
    assert.strictEqual(plan.gateIp, "10.77.64.10");
    assert.strictEqual(plan.targets[0].privateIp, "10.77.192.10");
  });
});

describe("aws shell quoting", () => {
  it("single-quotes for sh", () => {
    assert.strictEqual(execFileSync("bash", ["-c", `printf %s ${sq(`it's $HOME \`x\` "y"`)}`]).toString(), `it's $HOME \`x\` "y"`);
  });

  it("escapes systemd specifiers, variables and quotes", () => {
    assert.strictEqual(systemdQuote(`a "b" $c 100% \\d`), `"a \\"b\\" $$c 100%% \\\\d"`);
  });

  it("writes a file verbatim, whatever it contains", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-shell-"));
    const target = path.join(dir, "sub dir", "it's.txt");
    const content = `line 'one' $HOME \`id\`\nEOF\n\\n$(touch ${dir}/pwned)\n`;
    execFileSync("bash", ["-euc", writeFile(target, content, { mode: "0600" })]);
    assert.strictEqual(fs.readFileSync(target, "utf8"), content);
    assert.strictEqual(fs.statSync(target).mode & 0o777, 0o600);
    assert.ok(!fs.existsSync(path.join(dir, "pwned")), "nothing in the content was executed");
    fs.rmSync(dir, { recursive: true });
  });
});

describe("aws first-boot scripts", () => {
  const common = { region: "us-east-2", logBucket: "logs-bucket", logPrefix: "instances/x/" };

  it("are valid bash; the workload's TTL is its guard's, the gate keeps the boot timer", () => {
    const spec = parseSpec({ name: "units", backend: "aws", region: "us-east-2", owner: "a@b.c", workload: { command: ["python3", "-c", "print('hi $USER 100%')"], env: { A: "it's \"quoted\"" }, pids: 64 } });
    const access = awsStoreAccess({ ...common, artifactsBucket: "files" });
    const workload = renderWorkloadScript({
      access,
      setup: { ...workloadSetupOf(spec, { "10.0.0.10": ["api"] }, { ".aws/credentials": "[p]\nkey = 'x'\n" }) },
      guard: vmGuardConfig(spec, { sandboxId: "units-1", expiresAt: new Date("2030-01-01T00:00:00Z"), gateIp: "10.0.0.10", listeners: [], platform: awsPlatformPaths("10.0.0.0/16", ["52.216.0.0/15"]), planted: [".aws/credentials"] }),
    });
    const gate = renderGateScript(access, { ttlSeconds: 5400, toxiproxyKey: "bin/toxiproxy-server", proxies: [{ name: "api", listen: "0.0.0.0:443", upstream: "a:443", enabled: true }], adminPort: 8474 });
    for (const script of [workload, gate]) execFileSync("bash", ["-n"], { input: script });
    assert.match(gate, /^OnBootSec=5400s$/m);
    assert.doesNotMatch(workload, /instance-expiry/);
    assert.match(workload, /^ExecStart="python3" "-c" "print\('hi \$\$USER 100%%'\)"$/m);
  });

  it("names the UTC expiry for EventBridge Scheduler without milliseconds or zone", () => {
    assert.strictEqual(atExpression(new Date("2030-01-02T03:04:05.678Z")), "at(2030-01-02T03:04:05)");
  });
});
