// The control server behind `airlock serve`: one long-lived process that owns the sandboxes it
// creates — like `airlock run`, it calls HostSandbox.create/destroy in-process, so it is the runner
// of their undo journals, runs their guards, and their workloads die with it (--die-with-parent) —
// and serves create / exec / read-file / write-file / destroy requests (protocol.ts) concurrently.
//
// Its owner is its client: when the connection it was started for goes away (stdin reaches EOF),
// it destroys everything it owns and exits, unless the client asked it to `detach` (then it keeps
// its sandboxes until their ttl or an explicit destroy, and exits once it owns nothing). SIGINT /
// SIGTERM destroy everything too; after a SIGKILL the journals are replayed by the next Airlock
// command (this one replays dead owners' journals when it starts).
import type { Readable, Writable } from "stream";
import { SpecError, formatIssue } from "../../spec";
import { identityFor } from "../../naming";
import { checkHost, HostSandbox } from "../sandbox";
import { loadLocalSpec, NotLocalSpec } from "../cli-support";
import { findTool } from "../../host/exec";
import { runExec } from "./exec";
import { FILE_HELPER_PYTHON, readFileIn, writeFileIn } from "./files";
import { WORK_MOUNT } from "../views";
import { recordDurable, SandboxRecord } from "../record";
import * as fs from "fs";
import {
  ControlError,
  CreateResult,
  DestroyResult,
  ErrorBody,
  ExecRequest,
  KilledInfo,
  LineSplitter,
  PROTOCOL_VERSION,
  Request,
  Response,
} from "./protocol";

interface Owned {
  sb: HostSandbox;
  destroying?: Promise<DestroyResult>;
  /** Aborted when a kill rule fires: every command running in the sandbox ends then, not at its own pace. */
  killed: AbortController;
}

/** What a request knows about the connection it came on. */
export interface RequestContext {
  /** Aborted when that connection closes: its client is gone, nobody will read the answer. */
  gone?: AbortSignal;
}

function str(v: unknown, field: string): string {
  if (typeof v !== "string" || v === "") throw new ControlError("bad-request", `${field} must be a non-empty string`);
  return v;
}

/** Spec problems as Airlock reports them (one line per issue, with the fix). */
function specError(e: unknown): never {
  if (e instanceof SpecError) throw new ControlError("spec", `${e.source}: ${e.issues.length} problem(s); nothing was created or changed`, { issues: e.issues.map(formatIssue) });
  if (e instanceof NotLocalSpec) throw new ControlError("spec", e.message, { hint: e.hint });
  throw e;
}

function hostError(e: unknown): never {
  const err = e as Error & { hint?: string };
  throw new ControlError("host", err.message, { hint: err.hint });
}

export class ControlServer {
  private readonly owned = new Map<string, Owned>();
  /** Sandboxes this process destroyed, by id: a repeated destroy, or a request after a kill, gets the outcome. */
  private readonly finished = new Map<string, DestroyResult>();
  detached = false;
  /** Called whenever the server owns nothing any more (the CLI exits then, if detached). */
  onIdle: (() => void) | undefined;

  constructor(private readonly log: (m: string) => void = () => undefined) {}

  ids(): string[] {
    return [...this.owned.keys()];
  }

  async handle(req: Request, ctx: RequestContext = {}): Promise<unknown> {
    switch (req.op) {
      case "hello":
        return { protocol: PROTOCOL_VERSION, pid: process.pid, sandboxes: this.ids() };
      case "check-host":
        return this.checkHost();
      case "validate":
        return this.validate(str(req.spec, "spec"));
      case "create":
        return this.create(req);
      case "exec":
        return this.exec(req, ctx);
      case "read-file": {
        const sb = this.usable(req.sandbox);
        const data = await this.killAware(sb, () => readFileIn(sb, str(req.path, "path"), req.limit ?? undefined));
        await recordDurable(sb.record); // its file-read entry
        return { data: data.toString("base64"), size: data.length };
      }
      case "write-file": {
        const sb = this.usable(req.sandbox);
        if (typeof req.data !== "string") throw new ControlError("bad-request", "data must be a base64 string");
        await this.killAware(sb, () => writeFileIn(sb, str(req.path, "path"), Buffer.from(req.data, "base64")));
        await recordDurable(sb.record); // its file-written entry
        return {};
      }
      case "destroy":
        return this.destroy(str(req.sandbox, "sandbox"), req.reason || "destroyed by its client");
      case "list":
        return { sandboxes: [...this.owned.values()].map(({ sb }) => ({ id: sb.id, state: sb.killedBy ? "killed" : "running", record: sb.record.file, expiresAt: sb.handle.expiresAt })) };
      case "detach":
        this.detached = true;
        this.log(`detached: keeping ${this.owned.size} sandbox(es) until their ttl or an explicit destroy`);
        return { sandboxes: this.ids() };
      case "shutdown":
        return { destroyed: await this.destroyAll("shutdown requested") };
      default:
        throw new ControlError("bad-request", `unknown op '${(req as { op?: unknown }).op}'`);
    }
  }

  private checkHost(): unknown {
    try {
      checkHost();
    } catch (e) {
      hostError(e);
    }
    if (!fs.existsSync(FILE_HELPER_PYTHON) && !findTool("python3")) throw new ControlError("host", `${FILE_HELPER_PYTHON} is missing: files are copied in and out of sandboxes by a helper run with it`, { hint: "apt-get install python3" });
    return { root: true };
  }

  private validate(file: string): unknown {
    let loaded: ReturnType<typeof loadLocalSpec>;
    try {
      loaded = loadLocalSpec(file);
    } catch (e) {
      specError(e);
    }
    const { spec, taskDir } = loaded;
    return { name: spec.name, user: spec.workload.user, waived: spec.waived.map((f) => `unsafe.${f}`), taskDir: taskDir ?? null, ttl: spec.ttl, workDir: WORK_MOUNT };
  }

  private async create(req: Extract<Request, { op: "create" }>): Promise<CreateResult> {
    let loaded: ReturnType<typeof loadLocalSpec>;
    try {
      loaded = loadLocalSpec(str(req.spec, "spec"));
    } catch (e) {
      specError(e);
    }
    const { spec, taskDir } = loaded;
    if (req.recordMeta !== undefined && (typeof req.recordMeta !== "object" || req.recordMeta === null || Array.isArray(req.recordMeta))) throw new ControlError("bad-request", "recordMeta must be an object");
    try {
      checkHost();
    } catch (e) {
      hostError(e);
    }
    const sb = await HostSandbox.create(spec, { identity: identityFor(spec), taskDir, recordMeta: req.recordMeta });
    // This process serves many sandboxes on one event loop: their records' fsyncs must not stop it
    // (record.ts: deferred writes keep the order, and answers wait for durability where they rest on it).
    if (sb.record instanceof SandboxRecord) sb.record.deferWrites();
    const owned: Owned = { sb, killed: new AbortController() };
    this.owned.set(sb.id, owned);
    sb.onKilled = (t) => {
      this.log(`${sb.id}: kill switch (${t.rule}): ${t.detail}`);
      owned.killed.abort();
      void this.destroy(sb.id, `killed: ${t.rule}`).catch(() => undefined);
    };
    if (req.startWorkload !== false) sb.startWorkload();
    this.log(`${sb.id}: ready`);
    const u = sb.handle.workloadUser!;
    return { sandbox: sb.id, record: sb.record.file, expiresAt: sb.handle.expiresAt, user: { name: u.name, uid: u.uid, home: u.home }, workDir: WORK_MOUNT };
  }

  /** The live sandbox of that id, or the reason there is none (killed: with the record's head). */
  private usable(id: unknown): HostSandbox {
    const sid = str(id, "sandbox");
    const o = this.owned.get(sid);
    if (o && !o.sb.killedBy && !o.destroying) return o.sb;
    const done = this.finished.get(sid);
    const killedBy = o?.sb.killedBy ?? done?.killedBy;
    if (killedBy) {
      const killed: KilledInfo = { ...killedBy, record: done?.record ?? o!.sb.record.file, head: done?.head };
      throw new ControlError("killed", `sandbox ${sid} was killed by its kill switch (${killedBy.rule}: ${killedBy.detail})`, { killed });
    }
    if (o || done) throw new ControlError("no-sandbox", `sandbox ${sid} has been destroyed`);
    throw new ControlError("no-sandbox", `no sandbox '${sid}' is owned by this Airlock process`, { hint: "create it first (op: create)" });
  }

  /** What a kill during an operation looks like to the client: kind "killed", with the record's head. */
  private async killedInfo(sb: HostSandbox): Promise<KilledInfo | null> {
    if (!sb.killedBy) return null;
    const r = await this.destroy(sb.id, `killed: ${sb.killedBy.rule}`).catch(() => undefined);
    return { rule: sb.killedBy.rule, detail: sb.killedBy.detail, record: sb.record.file, head: r?.head };
  }

  private async killAware<T>(sb: HostSandbox, op: () => Promise<T>): Promise<T> {
    let value: T;
    try {
      value = await op();
    } catch (e) {
      const killed = await this.killedInfo(sb);
      if (killed) throw new ControlError("killed", `sandbox ${sb.id} was killed by its kill switch (${killed.rule}: ${killed.detail})`, { killed });
      throw e;
    }
    const killed = await this.killedInfo(sb);
    if (killed) throw new ControlError("killed", `sandbox ${sb.id} was killed by its kill switch (${killed.rule}: ${killed.detail})`, { killed });
    return value;
  }

  private async exec(req: ExecRequest, ctx: RequestContext): Promise<unknown> {
    const sb = this.usable(req.sandbox);
    const killed = this.owned.get(sb.id)!.killed.signal;
    const result = await runExec(sb, req, ctx.gone ? AbortSignal.any([killed, ctx.gone]) : killed);
    result.killed = await this.killedInfo(sb);
    return result;
  }

  destroy(id: string, reason: string): Promise<DestroyResult> {
    const done = this.finished.get(id);
    if (done) return Promise.resolve(done);
    const o = this.owned.get(id);
    if (!o) return Promise.reject(new ControlError("no-sandbox", `no sandbox '${id}' is owned by this Airlock process`));
    if (!o.destroying) {
      o.destroying = o.sb.destroy(reason).then((r) => {
        const result: DestroyResult = { sandbox: id, record: r.record, head: r.head, killedBy: o.sb.killedBy ? { rule: o.sb.killedBy.rule, detail: o.sb.killedBy.detail } : null, failed: r.failed.map((f) => `${f.step.label}: ${f.error}`) };
        this.finished.set(id, result);
        this.owned.delete(id);
        this.log(`${id}: destroyed (${reason})${result.failed.length ? `; ${result.failed.length} undo step(s) failed` : ""}`);
        if (this.owned.size === 0) this.onIdle?.();
        return result;
      });
    }
    return o.destroying;
  }

  async destroyAll(reason: string): Promise<DestroyResult[]> {
    return Promise.all(this.ids().map((id) => this.destroy(id, reason)));
  }
}

function errorBody(e: unknown): ErrorBody {
  if (e instanceof ControlError) return { kind: e.kind, message: e.message, ...e.extra };
  const err = e as Error & { hint?: string };
  return { kind: "internal", message: err?.message ?? String(e), ...(err?.hint ? { hint: err.hint } : {}) };
}

/**
 * Serves one connection: requests are handled as they arrive, concurrently; each response is one
 * line written whole (a long response never interleaves with another). Resolves when the input ends.
 */
export function serveConnection(server: ControlServer, input: Readable, output: Writable): Promise<void> {
  const send = (r: Response) => {
    if (!output.writableEnded && !output.destroyed) output.write(JSON.stringify(r) + "\n");
  };
  const inflight = new Set<Promise<void>>();
  const gone = new AbortController();
  const splitter = new LineSplitter(
    (line) => {
      let req: Request;
      try {
        req = JSON.parse(line.toString("utf8"));
      } catch {
        return send({ id: null, ok: false, error: { kind: "bad-request", message: "not a JSON object" } });
      }
      const id = req && typeof req === "object" && (typeof req.id === "string" || typeof req.id === "number") ? req.id : null;
      if (id === null || typeof req.op !== "string") return send({ id, ok: false, error: { kind: "bad-request", message: "a request needs an id (string or number) and an op" } });
      const p = server
        .handle(req, { gone: gone.signal })
        .then(
          (result) => send({ id, ok: true, result: result ?? {} }),
          (e) => send({ id, ok: false, error: errorBody(e) }),
        )
        .finally(() => inflight.delete(p));
      inflight.add(p);
    },
    () => send({ id: null, ok: false, error: { kind: "bad-request", message: "request line too long" } }),
  );
  input.on("data", (d: Buffer) => splitter.push(d));
  return new Promise((resolve) => {
    const done = () => {
      gone.abort();
      void Promise.all([...inflight]).then(() => resolve());
    };
    input.once("end", done);
    input.once("error", done);
    input.once("close", done);
  });
}
