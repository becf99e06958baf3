// What a process that validates specs and runs sandboxes loads: `airlock serve`'s server, the CLI's
// spec path and the supervisor must not pull in the Pulumi SDK (and with it gRPC, protobuf and npm's
// own machinery: ~800 modules, ~70 MiB), which only building a stack needs. Every spawn of a
// confined command forks that process, so its size is paid per exec (issue #12: the exec round trip).
// Each module is loaded in a fresh Node process through the project's own loader (bin/ts-hook.js);
// the positive control loads the backend list, which does need the SDK.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as path from "path";

const ROOT = path.join(__dirname, "..");

function loaded(module: string): { modules: number; pulumi: boolean; grpc: boolean } {
  const script = `require(${JSON.stringify(path.join(ROOT, "bin", "ts-hook.js"))}).register();
require(${JSON.stringify(path.join(ROOT, module))});
const m = Object.keys(require.cache);
process.stdout.write(JSON.stringify({ modules: m.length, pulumi: m.some((f) => f.includes("/node_modules/@pulumi/")), grpc: m.some((f) => f.includes("/node_modules/@grpc/")) }));`;
  return JSON.parse(execFileSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8", env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" } }));
}

describe("load weight: processes that run sandboxes do not load the Pulumi SDK", function () {
  this.timeout(120_000);

  it("positive control: the backend list (descriptors: facts, mocks, mutations) loads it", () => {
    const l = loaded("components/backends.ts");
    assert.ok(l.pulumi && l.grpc, JSON.stringify(l));
  });

  for (const module of ["components/spec/index.ts", "components/local/control/server.ts", "components/local/sandbox-exec.ts", "cli/serve.ts", "cli/sandbox.ts", "cli/run.ts"]) {
    it(`${module} loads no @pulumi/* and no @grpc/* module`, () => {
      const l = loaded(module);
      assert.deepStrictEqual({ pulumi: l.pulumi, grpc: l.grpc }, { pulumi: false, grpc: false }, `${module}: ${l.modules} modules`);
    });
  }
});
