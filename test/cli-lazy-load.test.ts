// The `airlock` command starts from compiled JavaScript and loads only what a command needs
// (issue 10 §2): `airlock help` loads no command module, `sandbox exec` neither the spec validators nor
// the sandbox builder, and neither ever loads a Pulumi SDK. Each case runs bin/airlock.js's own loader
// in a child process and lists the modules it loaded.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { COMMANDS } from "../cli/main";

const ROOT = path.join(__dirname, "..");

/** Runs `airlock <args>` through bin/ts-hook.js as bin/airlock.js does; returns the modules it loaded. */
function modulesLoadedBy(args: string[], env: NodeJS.ProcessEnv = {}): { modules: string[]; stdout: string; stderr: string; status: number | null } {
  const script = `
    require(${JSON.stringify(path.join(ROOT, "bin", "ts-hook.js"))}).register();
    process.on("exit", () => require("fs").writeSync(3, JSON.stringify(Object.keys(require.cache))));
    require(${JSON.stringify(path.join(ROOT, "cli", "main.ts"))}).main(${JSON.stringify(args)});`;
  const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
  const modules: string[] = JSON.parse((r.output[3] as unknown as string) || "[]").map((m: string) => path.relative(ROOT, m));
  return { modules, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

const heavy = (modules: string[]) =>
  modules.filter((m) => m.includes(path.join("node_modules", "@pulumi")) || m.startsWith(path.join("components", "spec", "validate")) || m === path.join("components", "local", "sandbox.ts") || m.startsWith("chaos" + path.sep));

describe("airlock CLI: loads only what a command needs", function () {
  this.timeout(60_000);

  it("help lists every command without loading any command module (nor a Pulumi SDK)", () => {
    const r = modulesLoadedBy(["--help"]);
    assert.equal(r.status, 0, r.stderr);
    for (const name of Object.keys(COMMANDS)) assert.match(r.stdout, new RegExp(`^  ${name} +\\S`, "m"));
    const commandModules = r.modules.filter((m) => m.startsWith("cli" + path.sep) && !["main.ts", "output.ts"].includes(path.basename(m)));
    assert.deepEqual(commandModules, [], `help loaded ${commandModules.join(", ")}`);
    assert.deepEqual(heavy(r.modules), []);
  });

  it("each summary `airlock help` prints is the one its command module gives", () => {
    for (const [name, c] of Object.entries(COMMANDS)) assert.equal(c.summary, c.load().summary, `cli/main.ts COMMANDS.${name}.summary`);
  });

  it("sandbox exec loads neither the spec validators, the sandbox builder, the chaos runner nor a Pulumi SDK", () => {
    const state = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-lazy-"));
    try {
      const r = modulesLoadedBy(["sandbox", "exec", "no-such-sandbox", "--", "true"], { AIRLOCK_STATE_DIR: state });
      // Positive control: the command really ran its exec path (and refused the unknown id).
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /no local sandbox 'no-such-sandbox'|must run as root|root/);
      assert.ok(r.modules.includes(path.join("cli", "sandbox.ts")), "cli/sandbox.ts was loaded");
      assert.deepEqual(heavy(r.modules), []);
    } finally {
      fs.rmSync(state, { recursive: true, force: true });
    }
  });
});

describe("bin/ts-hook.js: compiled JavaScript in dist/, compiled at start only when stale", function () {
  this.timeout(60_000);

  it("loads a module from dist/ when it is up to date, and recompiles (saying so once) when the source is newer", () => {
    const src = path.join(ROOT, "test", "helpers", "lazy-load-probe.ts");
    const out = path.join(ROOT, "dist", "test", "helpers", "lazy-load-probe.js");
    const load = () => spawnSync(process.execPath, ["-e", `require(${JSON.stringify(path.join(ROOT, "bin", "ts-hook.js"))}).register(); process.stdout.write(require(${JSON.stringify(src)}).probe);`], { encoding: "utf8" });
    try {
      fs.writeFileSync(src, 'export const probe: string = "from-source";\n');
      fs.rmSync(out, { force: true });
      const first = load();
      assert.equal(first.stdout, "from-source");
      assert.match(first.stderr, /dist\/ is missing or older than the sources/);
      assert.ok(fs.existsSync(out), "the compiled form was cached into dist/");
      // dist/ now up to date: its code is what runs (marked so that we can tell), and nothing is said.
      fs.writeFileSync(out, fs.readFileSync(out, "utf8").replace("from-source", "from-dist"));
      const second = load();
      assert.equal(second.stdout, "from-dist");
      assert.equal(second.stderr, "");
      // The source edited after the build: dist/ is stale, so the source wins again.
      const later = new Date(Date.now() + 5_000);
      fs.utimesSync(src, later, later);
      const third = load();
      assert.equal(third.stdout, "from-source");
      assert.match(third.stderr, /older than the sources/);
    } finally {
      fs.rmSync(src, { force: true });
      fs.rmSync(out, { force: true });
    }
  });
});
