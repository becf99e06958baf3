// The compiled socket-refusal launcher (seccomp-notify.c beside this file): where it lives, and
// building it when it is missing.
//
// It is built from source on this host (a static binary of ~1 MB, about a second of gcc, once) and
// cached under a path named after a hash of its source, flags and architecture, so an edited source
// never runs as a stale binary and two checkouts share one build. bin/setup-host.sh builds it (the
// README's first command), so a sandbox start normally only stats the file; when it is missing anyway
// (a cleared cache) the first start builds it. Static, so the exec costs no dynamic loading: it sits
// on every confined process start, and `exec` round trips are tight.
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { findTool } from "../../host/exec";

export const NOTIFY_SOURCE = path.join(__dirname, "seccomp-notify.c");
const CFLAGS = ["-O2", "-static", "-Wall", "-Wextra", "-Werror"];

export class NotifyLauncherUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotifyLauncherUnavailable";
  }
}

let cached: string | undefined;

/** The cache path of the launcher built from the current source (whether or not it exists yet). */
export function notifyLauncherPath(): string {
  const src = fs.readFileSync(NOTIFY_SOURCE);
  const hash = createHash("sha256").update(src).update(CFLAGS.join(" ")).update(os.arch()).digest("hex").slice(0, 16);
  const root = process.env.AIRLOCK_CACHE_DIR || "/var/cache/airlock";
  return path.join(root, `seccomp-notify-${hash}`, "airlock-seccomp-notify");
}

/** The launcher binary, built first if this source has not been built on this host. */
export function notifyLauncher(): string {
  if (cached && fs.existsSync(cached)) return cached;
  const bin = notifyLauncherPath();
  if (!fs.existsSync(bin)) build(bin);
  cached = bin;
  return bin;
}

function build(bin: string): void {
  if (!["x64", "arm64"].includes(os.arch())) {
    throw new NotifyLauncherUnavailable(`the socket-refusal launcher supports x86_64 and aarch64 only; this host is ${os.arch()}`);
  }
  const gcc = findTool("gcc");
  if (!gcc) {
    throw new NotifyLauncherUnavailable(
      `the socket-refusal launcher (${path.relative(process.cwd(), NOTIFY_SOURCE)}) is not built on this host and gcc is not installed: run \`bash bin/setup-host.sh\` (it installs gcc, libc6-dev and linux-libc-dev and builds it)`,
    );
  }
  fs.mkdirSync(path.dirname(bin), { recursive: true, mode: 0o755 });
  const tmp = `${bin}.${process.pid}.tmp`;
  try {
    execFileSync(gcc, [...CFLAGS, "-o", tmp, NOTIFY_SOURCE], { stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, bin); // atomic: a concurrent start sees no binary or a whole one
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    const err = e as { stderr?: Buffer; message: string };
    throw new NotifyLauncherUnavailable(`cannot build the socket-refusal launcher with ${gcc}: ${err.stderr?.toString().trim() || err.message} (is libc6-dev installed? run \`bash bin/setup-host.sh\`)`);
  }
}

// `node bin/run-ts.js components/local/notify/launcher.ts`: builds it (bin/setup-host.sh).
if (process.argv[1] === __filename) {
  process.stdout.write(notifyLauncher() + "\n");
}
