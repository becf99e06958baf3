// Finds the Pulumi CLI (the engine) and the environment it runs in. One job: answer "which `pulumi`,
// with which plugins beside it", for the Automation API (automation/sandbox.ts) and the engine tests.
//
// Order: $AIRLOCK_PULUMI (an explicit path) > a `pulumi` on the user's PATH (Pulumi's installer ships
// the language host and plugins with it) > the build of bin/setup-tests.d/20-pulumi-engine.sh for
// this checkout (the engine beside this checkout's plugin shims) > a clear error saying how to get one.
// The cached paths are computed exactly as tools/pulumi/engine-paths.sh does (keep the two in step).
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** This checkout (the folder with package.json, Pulumi.yaml and stacks/). */
export const PROJECT_ROOT = path.resolve(__dirname, "..");

export type EngineSource = "env" | "path" | "cache";

export interface PulumiEngine {
  /** Absolute path of the `pulumi` executable. */
  pulumi: string;
  /** Its folder: put first on PATH so the engine finds its plugins (the policy analyzer only on PATH). */
  binDir: string;
  /** Where it was found. */
  source: EngineSource;
  /** The version this checkout pins (@pulumi/pulumi in package.json); the cached build is exactly it. */
  pinnedVersion: string;
}

export class PulumiNotFoundError extends Error {
  readonly hint: string;
  constructor(looked: string[]) {
    super(`no Pulumi CLI found (looked at: ${looked.join("; ")})`);
    this.hint =
      "install the Pulumi CLI (https://www.pulumi.com/docs/install/, e.g. `curl -fsSL https://get.pulumi.com | sh`) and put it on PATH, " +
      "or build the pinned engine with `bash bin/setup-tests.d/20-pulumi-engine.sh` (needs Go; ~8 min cold), " +
      "or set AIRLOCK_PULUMI to a pulumi executable; for the local backend, `engine: \"direct\"` needs no CLI";
  }
}

/** The @pulumi/pulumi version package.json pins (the engine's version too). */
export function pinnedPulumiVersion(root = PROJECT_ROOT): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
  return pkg.dependencies["@pulumi/pulumi"];
}

/** The cached engine folders for a checkout (see tools/pulumi/engine-paths.sh). */
export function cachedEnginePaths(root = PROJECT_ROOT, env: NodeJS.ProcessEnv = process.env): { home: string; checkout: string } {
  const real = fs.realpathSync(root);
  const home = path.join(env.AIRLOCK_CACHE_DIR || "/var/cache/airlock", `pulumi-v${pinnedPulumiVersion(root)}`);
  const hash = crypto.createHash("sha256").update(real).digest("hex").slice(0, 12);
  return { home, checkout: path.join(home, "checkouts", hash) };
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string, pathVar: string | undefined): string | undefined {
  for (const dir of (pathVar ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export interface LocateOptions {
  root?: string;
  env?: NodeJS.ProcessEnv;
  /** Skip the user's PATH (e.g. to test exactly the pinned build). */
  ignorePath?: boolean;
}

/** The engine to use, or undefined when there is none (see `requirePulumi` for the error). */
export function findPulumi(opts: LocateOptions = {}): PulumiEngine | undefined {
  return locate(opts).engine;
}

/** The engine to use; throws PulumiNotFoundError (with how to install one) when there is none. */
export function requirePulumi(opts: LocateOptions = {}): PulumiEngine {
  const { engine, looked } = locate(opts);
  if (!engine) throw new PulumiNotFoundError(looked);
  return engine;
}

function locate(opts: LocateOptions): { engine?: PulumiEngine; looked: string[] } {
  const root = opts.root ?? PROJECT_ROOT;
  const env = opts.env ?? process.env;
  const pinnedVersion = pinnedPulumiVersion(root);
  const looked: string[] = [];
  const make = (file: string, source: EngineSource): PulumiEngine => ({ pulumi: file, binDir: path.dirname(file), source, pinnedVersion });
  if (env.AIRLOCK_PULUMI) {
    if (isExecutable(env.AIRLOCK_PULUMI)) return { engine: make(path.resolve(env.AIRLOCK_PULUMI), "env"), looked };
    looked.push(`AIRLOCK_PULUMI=${env.AIRLOCK_PULUMI} (not an executable)`);
  }
  if (!opts.ignorePath) {
    const found = onPath("pulumi", env.PATH);
    if (found) return { engine: make(found, "path"), looked };
    looked.push("`pulumi` on PATH");
  }
  const cached = path.join(cachedEnginePaths(root, env).checkout, "bin", "pulumi");
  if (isExecutable(cached)) return { engine: make(cached, "cache"), looked };
  looked.push(cached);
  return { looked };
}

export interface EngineEnvOptions {
  /** State backend URL; default a file backend in `stateDir`. */
  backendUrl?: string;
  /** Folder of the file backend (default: a new temporary folder). */
  stateDir?: string;
  /** PULUMI_HOME (default: a private folder beside the state: no plugin cache or credentials of the user's). */
  home?: string;
  /** Secrets passphrase of the stacks (file backend); default "airlock" — local state holds no secrets of ours. */
  passphrase?: string;
}

/**
 * The environment the engine runs with: a file backend (no Pulumi service), a private PULUMI_HOME,
 * no plugin downloads (the machine may have no download site; our plugins sit beside the engine),
 * no update check, and the engine's folder first on PATH (the policy analyzer is only found there).
 */
export function engineEnv(engine: PulumiEngine, opts: EngineEnvOptions = {}, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  let backendUrl = opts.backendUrl ?? base.PULUMI_BACKEND_URL;
  let stateDir = opts.stateDir;
  if (!backendUrl) {
    stateDir ??= fs.mkdtempSync(path.join(os.tmpdir(), "airlock-pulumi-state-"));
    fs.mkdirSync(stateDir, { recursive: true });
    backendUrl = `file://${stateDir}`;
  }
  const home = opts.home ?? (stateDir ? path.join(stateDir, ".pulumi-home") : fs.mkdtempSync(path.join(os.tmpdir(), "airlock-pulumi-home-")));
  fs.mkdirSync(home, { recursive: true });
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  return {
    ...env,
    PULUMI_BACKEND_URL: backendUrl,
    PULUMI_HOME: home,
    PULUMI_CONFIG_PASSPHRASE: opts.passphrase ?? base.PULUMI_CONFIG_PASSPHRASE ?? "airlock",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PATH: [engine.binDir, base.PATH ?? ""].filter(Boolean).join(path.delimiter),
  };
}

/**
 * The Automation API's handle on this engine. PulumiCommand.get wants `<root>/bin/pulumi`; an engine
 * in a folder not named `bin` is reached through a symlink in a private `bin/` (the engine resolves
 * symlinks to find the plugins beside its real executable, so nothing else changes).
 */
export async function pulumiCommand(engine: PulumiEngine): Promise<import("@pulumi/pulumi/automation").PulumiCommand> {
  const { PulumiCommand } = await import("@pulumi/pulumi/automation");
  let root = path.dirname(engine.binDir);
  if (path.basename(engine.binDir) !== "bin") {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-pulumi-cmd-"));
    fs.mkdirSync(path.join(root, "bin"));
    fs.symlinkSync(engine.pulumi, path.join(root, "bin", "pulumi"));
  }
  return PulumiCommand.get({ root });
}
