// The metadata filter as its own process, supervised by the guard. The filter parses every byte the
// workload sends it with Node's HTTP parser; a flaw there must not run as root. So it runs as
// METADATA_FILTER_UID (no capabilities, none it could gain: setpriv's cleared bounding set and
// no_new_privs; no supplementary groups), and the guest table lets that uid reach the metadata server
// and nothing else (./nft.ts). The guard (root) starts it before the workload, hands it its config on
// stdin, reads its refusals from stdout (one JSON line each: recorded and counted by the guard) and
// restarts it when it exits — the workload's metadata connections find nothing listening meanwhile,
// which fails closed. It dies with the guard (parent-death signal), so a restarted guard finds the
// port free.
import * as path from "path";
import { spawn, ChildProcess } from "child_process";
import type { MetadataFilterConfig, MetadataRefusal } from "./metadata-filter";

/** One line of the filter's stdout the guard reads at most (a longer one is cut: the filter is less trusted than the guard). */
const MAX_LINE = 4096;
/** Restart delays: doubling from the first to the last, back to the first after a minute up. */
const RESTART_MS = [500, 10_000] as const;

export interface SupervisorEvents {
  refused(r: MetadataRefusal): void;
  /** The filter process started (pid) or exited (code / signal), for the record. */
  note(type: "metadata-filter-started" | "metadata-filter-exited", data: Record<string, unknown>): void;
}

/** The argv that runs the filter as `uid` with no capabilities, tied to this process. */
export function filterArgv(uid: number, node = process.execPath, script = path.join(__dirname, "metadata-filter.js")): string[] {
  if (!(Number.isInteger(uid) && uid > 0)) throw new Error(`nft.metadata.uid: ${JSON.stringify(uid)} is not a non-root uid — the filter parses the workload's requests and must not run as root`);
  return ["setpriv", "--pdeathsig", "KILL", "--reuid", String(uid), "--regid", String(uid), "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--", node, script, "-"];
}

/** What a refusal line must hold; anything else from the filter is ignored (and noted once per start). */
function asRefusal(v: unknown): MetadataRefusal | undefined {
  const r = (v as { refused?: Record<string, unknown> })?.refused;
  if (!r || typeof r !== "object") return undefined;
  const str = (x: unknown) => (typeof x === "string" ? x.slice(0, 200) : "");
  return { status: typeof r.status === "number" ? r.status : -1, method: str(r.method), target: str(r.target), why: str(r.why), from: str(r.from) };
}

export class MetadataFilterProcess {
  private child: ChildProcess | undefined;
  private stopped = false;
  private restarts = 0;
  private delay: number = RESTART_MS[0];
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly cfg: MetadataFilterConfig & { uid: number },
    private readonly on: SupervisorEvents,
    private readonly argv: string[] = filterArgv(cfg.uid),
  ) {}

  /** Starts the filter; resolves once it listens (rejects if it exits or is silent for `timeoutMs`). */
  start(timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.argv[0], this.argv.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
      this.child = child;
      let ready = false;
      const timer = setTimeout(() => (child.kill("SIGKILL"), reject(new Error(`the metadata filter did not listen within ${timeoutMs} ms`))), timeoutMs);
      const upSince = Date.now();
      let buf = "";
      child.stdout!.setEncoding("utf8");
      child.stdout!.on("data", (d: string) => {
        buf += d;
        for (let i = buf.indexOf("\n"); i >= 0 || buf.length > MAX_LINE; i = buf.indexOf("\n")) {
          const line = (i >= 0 ? buf.slice(0, i) : buf).slice(0, MAX_LINE);
          buf = i >= 0 ? buf.slice(i + 1) : "";
          let v: unknown;
          try {
            v = JSON.parse(line);
          } catch {
            continue;
          }
          if (!ready && typeof (v as { listening?: unknown })?.listening === "string") {
            ready = true;
            clearTimeout(timer);
            this.on.note("metadata-filter-started", { pid: child.pid, uid: this.cfg.uid, listening: (v as { listening: string }).listening, restarts: this.restarts });
            resolve();
            continue;
          }
          const r = asRefusal(v);
          if (r) this.on.refused(r);
        }
      });
      child.on("error", (e) => (clearTimeout(timer), reject(new Error(`the metadata filter could not start (${this.argv[0]}): ${e.message}`))));
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        if (this.child === child) this.child = undefined;
        if (!ready) return reject(new Error(`the metadata filter exited before it listened (code ${code}, signal ${signal})`));
        if (this.stopped) return;
        this.on.note("metadata-filter-exited", { code, signal, restarts: this.restarts });
        // A filter that ran a minute crashed once, not in a loop: start over from the shortest delay.
        this.delay = Date.now() - upSince > 60_000 ? RESTART_MS[0] : this.delay;
        this.restartTimer = setTimeout(() => this.restart(), this.delay);
        this.delay = Math.min(this.delay * 2, RESTART_MS[1]);
      });
      child.stdin!.on("error", () => undefined);
      child.stdin!.end(JSON.stringify(this.cfg));
    });
  }

  private restart(): void {
    if (this.stopped) return;
    this.restarts++;
    this.start().catch((e) => {
      this.on.note("metadata-filter-exited", { error: (e as Error).message, restarts: this.restarts });
      if (!this.stopped) this.restartTimer = setTimeout(() => this.restart(), this.delay);
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  stop(): void {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.child?.kill("SIGKILL");
  }
}
