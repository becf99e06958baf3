// The egress gate's control plane: Toxiproxy's admin API, through toxiproxy-node-client, wrapped so
// that (1) every admin call has a timeout — the server can hang while removing a toxic (Shopify/
// toxiproxy#558, #159) and a hung call must never block a rollback — and (2) every error says which
// operation on which proxy/toxic failed and what the server answered.
//
// Also fills the client's gaps: listing a proxy's toxics (its Proxy drops them), toxic types the
// client does not know (noop, packet_loss), idempotent removal (404 = already gone).
import * as net from "net";
import * as fs from "fs";
import { spawn, ChildProcess } from "child_process";
import { Toxiproxy } from "toxiproxy-node-client";
import { registerUndo } from "./journal";
import { findTool, HostToolMissing } from "./exec";
import { ProcessRef, refOf, terminate, isAlive } from "./process";

export type ToxicStream = "upstream" | "downstream";

export interface ToxicSpec {
  name: string;
  type: string;
  stream: ToxicStream;
  toxicity: number;
  attributes: Record<string, number>;
}

export interface ProxyState {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: ToxicSpec[];
}

export class ToxiproxyAdminError extends Error {
  constructor(
    public readonly operation: string,
    public readonly status: number | undefined,
    detail: string,
  ) {
    super(`toxiproxy: ${operation}: ${detail}`);
    this.name = "ToxiproxyAdminError";
  }
}

export const DEFAULT_ADMIN_TIMEOUT_MS = 5000;

export class ToxiproxyAdmin {
  private readonly client: Toxiproxy;

  constructor(
    public readonly url: string,
    public readonly timeoutMs = DEFAULT_ADMIN_TIMEOUT_MS,
  ) {
    this.client = new Toxiproxy(url);
    // The client calls global fetch with no signal; give every request a deadline and keep the
    // server's error text (the client only says "Request failed with status code N").
    const api = this.client.getApi() as any;
    api.doFetch = async (target: string, init: RequestInit) => {
      let res: Response;
      try {
        res = await fetch(target, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (e: any) {
        const timedOut = e?.name === "TimeoutError" || e?.name === "AbortError";
        throw Object.assign(new Error(timedOut ? `no answer within ${this.timeoutMs} ms` : `cannot reach ${url}: ${e?.cause?.code ?? e?.message}`), { status: undefined });
      }
      if (!res.ok) {
        const body = (await res.text().catch(() => "")).trim();
        let detail = body;
        try {
          detail = JSON.parse(body).error ?? body;
        } catch {
          /* plain text */
        }
        throw Object.assign(new Error(`HTTP ${res.status}${detail ? `: ${detail}` : ""}`), { status: res.status });
      }
      return res;
    };
  }

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e: any) {
      throw new ToxiproxyAdminError(operation, e?.status, e?.message ?? String(e));
    }
  }

  private raw(): any {
    return this.client.getApi();
  }

  async version(): Promise<string> {
    const text = await this.call("read version", () => this.client.getVersion());
    try {
      return JSON.parse(text).version ?? text.trim();
    } catch {
      return text.trim();
    }
  }

  async listProxies(): Promise<Record<string, ProxyState>> {
    const res = await this.call("list proxies", () => this.raw().get(`${this.url}/proxies`));
    return (res as any).data ?? {};
  }

  async getProxy(name: string): Promise<ProxyState | undefined> {
    try {
      const res = await this.call(`read proxy '${name}'`, () => this.raw().get(`${this.url}/proxies/${encodeURIComponent(name)}`));
      return (res as any).data;
    } catch (e) {
      if (e instanceof ToxiproxyAdminError && e.status === 404) return undefined;
      throw e;
    }
  }

  async createProxy(p: { name: string; listen: string; upstream: string; enabled?: boolean }): Promise<ProxyState> {
    await this.call(`create proxy '${p.name}' (${p.listen} -> ${p.upstream})`, () => this.client.createProxy({ ...p, enabled: p.enabled ?? true }));
    return (await this.getProxy(p.name))!;
  }

  /** Removes a proxy; an already-missing proxy is success (undo must be idempotent). */
  async removeProxy(name: string): Promise<void> {
    try {
      await this.call(`remove proxy '${name}'`, () => this.raw().delete(`${this.url}/proxies/${encodeURIComponent(name)}`));
    } catch (e) {
      if (e instanceof ToxiproxyAdminError && e.status === 404) return;
      throw e;
    }
  }

  /** Enables/disables a proxy ("down" = disabled: it stops listening and drops connections). */
  async setProxyEnabled(name: string, enabled: boolean): Promise<void> {
    await this.call(`${enabled ? "enable" : "disable"} proxy '${name}'`, () => this.raw().post(`${this.url}/proxies/${encodeURIComponent(name)}`, { enabled }));
  }

  async listToxics(proxy: string): Promise<ToxicSpec[]> {
    const res = await this.call(`list toxics of proxy '${proxy}'`, () => this.raw().get(`${this.url}/proxies/${encodeURIComponent(proxy)}/toxics`));
    return (res as any).data ?? [];
  }

  async addToxic(proxy: string, toxic: ToxicSpec): Promise<ToxicSpec> {
    const res = await this.call(`add ${toxic.type} toxic '${toxic.name}' to proxy '${proxy}'`, () =>
      this.raw().post(`${this.url}/proxies/${encodeURIComponent(proxy)}/toxics`, toxic),
    );
    return (res as any).data;
  }

  async updateToxic(proxy: string, name: string, patch: Partial<Pick<ToxicSpec, "toxicity" | "attributes">>): Promise<ToxicSpec> {
    const res = await this.call(`update toxic '${name}' on proxy '${proxy}'`, () =>
      this.raw().post(`${this.url}/proxies/${encodeURIComponent(proxy)}/toxics/${encodeURIComponent(name)}`, patch),
    );
    return (res as any).data;
  }

  /** Removes a toxic; an already-missing toxic or proxy is success. */
  async removeToxic(proxy: string, name: string): Promise<void> {
    try {
      await this.call(`remove toxic '${name}' from proxy '${proxy}'`, () =>
        this.raw().delete(`${this.url}/proxies/${encodeURIComponent(proxy)}/toxics/${encodeURIComponent(name)}`),
      );
    } catch (e) {
      if (e instanceof ToxiproxyAdminError && e.status === 404) return;
      throw e;
    }
  }

  /**
   * Whether the running server knows a toxic type (e.g. packet_loss, merged after v2.12.0). Go
   * builds report "git" as their version, so the only honest test is to ask: add the toxic to a
   * throwaway proxy and see whether the server refuses the type.
   */
  async supportsToxicType(type: string, attributes: Record<string, number> = {}): Promise<boolean> {
    const probe = `airlock-probe-${process.pid}-${Date.now()}`;
    await this.createProxy({ name: probe, listen: "127.0.0.1:0", upstream: "127.0.0.1:9", enabled: false });
    try {
      await this.addToxic(probe, { name: "probe", type, stream: "downstream", toxicity: 1, attributes });
      return true;
    } catch (e) {
      if (e instanceof ToxiproxyAdminError && e.status !== undefined && e.status >= 400 && e.status < 500) return false;
      throw e;
    } finally {
      await this.removeProxy(probe);
    }
  }
}

// ---- undo kinds ----

registerUndo("toxiproxy-proxy", async (a: { url: string; name: string }) => {
  await new ToxiproxyAdmin(a.url).removeProxy(a.name).catch((e) => {
    // A server that is gone took its proxies with it.
    if (!(e instanceof ToxiproxyAdminError && e.status === undefined && /cannot reach/.test(e.message))) throw e;
  });
});

registerUndo("toxiproxy-toxic", async (a: { url: string; proxy: string; name: string }) => {
  await new ToxiproxyAdmin(a.url).removeToxic(a.proxy, a.name).catch((e) => {
    if (!(e instanceof ToxiproxyAdminError && e.status === undefined && /cannot reach/.test(e.message))) throw e;
  });
});

registerUndo("toxiproxy-enabled", async (a: { url: string; proxy: string; enabled: boolean }) => {
  const admin = new ToxiproxyAdmin(a.url);
  if (await admin.getProxy(a.proxy).catch(() => undefined)) await admin.setProxyEnabled(a.proxy, a.enabled);
});

// ---- the server process ----

export interface ToxiproxyServer {
  url: string;
  host: string;
  port: number;
  process: ProcessRef;
  stop(): Promise<void>;
}

/** A free TCP port on the given loopback address (the kernel picks; tiny race accepted). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a Toxiproxy server whose admin API listens on loopback only. `logFile` receives its output.
 * The caller journals `process` (kind "process") before relying on it.
 */
export async function startToxiproxyServer(
  opts: {
    host?: string;
    port?: number;
    logFile?: string;
    onSpawn?: (ref: ProcessRef) => void;
    /** argv[0] shown in ps, so a sweeper can tell whose gate it is. */ argv0?: string;
    /** zerolog level (LOG_LEVEL); default $LOG_LEVEL or "warn". */ logLevel?: string;
    /** Receives the server's output instead of `logFile` (the caller bounds it); the server then dies of SIGPIPE once this process is gone. */
    onOutput?: (chunk: Buffer) => void;
    /**
     * Runs the server through a confinement launcher: gets the server's argv, returns the command
     * line that runs it confined and the descriptor to hand it as fd 3 (closed here after the spawn).
     */
    confine?: (serverArgv: string[]) => { file: string; args: string[]; seccompFd?: number };
  } = {},
): Promise<ToxiproxyServer> {
  const bin = findTool("toxiproxy-server");
  if (!bin) throw new HostToolMissing("toxiproxy-server");
  const host = opts.host ?? "127.0.0.1";
  const port = opts.port ?? (await freePort(host));
  const out = opts.onOutput ? "pipe" : opts.logFile ? fs.openSync(opts.logFile, "a") : "ignore";
  const serverArgv = [bin, "-host", host, "-port", String(port)];
  const launch = opts.confine ? opts.confine(serverArgv) : { file: bin, args: serverArgv.slice(1), seccompFd: undefined };
  let child: ChildProcess;
  try {
    child = spawn(launch.file, launch.args, {
      argv0: opts.argv0,
      stdio: ["ignore", out, out, ...(launch.seccompFd !== undefined ? [launch.seccompFd] : [])],
      detached: true, // own process group: a Ctrl-C to the CLI is handled by Airlock, which stops it in order
      // A confined server gets an environment of its own (the launcher sets it); only LOG_LEVEL passes.
      env: opts.confine ? { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LOG_LEVEL: opts.logLevel ?? "error" } : { ...process.env, LOG_LEVEL: opts.logLevel ?? process.env.LOG_LEVEL ?? "warn" },
    });
  } finally {
    if (typeof out === "number") fs.closeSync(out);
    if (launch.seccompFd !== undefined) fs.closeSync(launch.seccompFd);
  }
  for (const s of [child.stdout, child.stderr]) {
    if (!s || !opts.onOutput) continue;
    s.on("data", opts.onOutput);
    s.on("error", () => undefined);
    (s as unknown as { unref?: () => void }).unref?.(); // the server's output never keeps this process alive
  }
  child.unref();
  // spawn() reports failures (ENOENT, EACCES) asynchronously; without a pid there is no process.
  const spawnError = await new Promise<Error | undefined>((resolve) => {
    if (child.pid !== undefined) return resolve(undefined);
    child.once("error", (e) => resolve(e));
  });
  const ref = child.pid === undefined ? undefined : refOf(child.pid);
  if (!ref) throw new Error(`toxiproxy-server could not be started${spawnError ? `: ${spawnError.message}` : " (it exited at once)"}`);
  opts.onSpawn?.(ref);
  const url = `http://${host}:${port}`;
  const admin = new ToxiproxyAdmin(url, 500);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await admin.version();
      break;
    } catch (e) {
      if (!isAlive(ref) || Date.now() > deadline) {
        await terminate(ref, 500);
        throw new Error(`toxiproxy-server did not start on ${host}:${port}: ${(e as Error).message}`);
      }
      // A refused connection answers at once; look again soon (a 25 ms step was ~12 ms of every create).
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  return { url, host, port, process: ref, stop: () => terminate(ref, 2000) };
}
