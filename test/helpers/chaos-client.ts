// The tests' own measuring client (independent of chaos/measure, the code under test): node's http
// client on a fresh connection per request, timed with performance.now().
import * as http from "http";

export interface Timed {
  ok: boolean;
  /** Request sent -> response headers. */
  ms: number;
  /** Request sent -> socket closed. */
  closedMs: number;
  status?: number;
  bytes: number;
  /** ECONNREFUSED, ECONNRESET, TIMEOUT, TRUNCATED, ... */
  error?: string;
  /** The TCP connection was established (a refused or unreachable listener never gets here). */
  connected: boolean;
}

export function timedGet(listen: string, path = "/", timeoutMs = 3000): Promise<Timed> {
  const [host, port] = [listen.slice(0, listen.lastIndexOf(":")), Number(listen.slice(listen.lastIndexOf(":") + 1))];
  return new Promise((resolve) => {
    const t0 = performance.now();
    let headersAt = 0;
    let bytes = 0;
    let expected = -1;
    let settled = false;
    let connected = false;
    let result: Omit<Timed, "closedMs" | "connected"> | undefined;
    const req = http.request({ host, port, path, agent: false, headers: { connection: "close" } });
    const done = (r: Omit<Timed, "closedMs" | "connected">) => {
      if (!result) result = r;
    };
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...(result ?? { ok: false, ms: performance.now() - t0, bytes, error: "CLOSED" }), closedMs: performance.now() - t0, connected });
    };
    const timer = setTimeout(() => {
      done({ ok: false, ms: performance.now() - t0, bytes, error: "TIMEOUT" });
      req.destroy();
      settle();
    }, timeoutMs);
    req.on("response", (res) => {
      headersAt = performance.now() - t0;
      expected = Number(res.headers["content-length"] ?? -1);
      res.on("data", (c: Buffer) => (bytes += c.length));
      res.on("end", () => done(expected >= 0 && bytes < expected ? { ok: false, ms: headersAt, bytes, status: res.statusCode, error: "TRUNCATED" } : { ok: true, ms: headersAt, bytes, status: res.statusCode }));
      res.on("error", () => done({ ok: false, ms: headersAt, bytes, status: res.statusCode, error: "TRUNCATED" }));
      res.on("aborted", () => done({ ok: false, ms: headersAt, bytes, status: res.statusCode, error: "TRUNCATED" }));
    });
    req.on("socket", (s) => {
      s.on("connect", () => (connected = true));
      s.on("close", () => setImmediate(settle));
    });
    req.on("error", (e: NodeJS.ErrnoException) => done({ ok: false, ms: performance.now() - t0, bytes, error: e.code === "ECONNRESET" && headersAt === 0 && bytes === 0 ? "ECONNRESET" : e.code ?? e.message }));
    req.end();
  });
}

/** The value at `p` percent of the sorted sample (index floor(n * p / 100)); median = percentile(xs, 50). */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))];
}

export function median(xs: number[]): number {
  return percentile(xs, 50);
}

/** n requests, `concurrency` at a time. */
export async function many(n: number, concurrency: number, one: () => Promise<Timed>): Promise<Timed[]> {
  const out: Timed[] = [];
  for (let i = 0; i < n; i += concurrency) out.push(...(await Promise.all(Array.from({ length: Math.min(concurrency, n - i) }, one))));
  return out;
}

export interface RawTimes {
  /** Request written -> first byte, last byte, the server's close (FIN) arriving. */
  firstByteMs: number;
  lastByteMs: number;
  endMs: number;
  bytes: number;
}

/** Raw HTTP exchange that waits for the server to close (node's http client closes first). */
export function rawExchange(listen: string, path = "/", timeoutMs = 5000): Promise<RawTimes> {
  const net = require("net") as typeof import("net");
  const [host, port] = [listen.slice(0, listen.lastIndexOf(":")), Number(listen.slice(listen.lastIndexOf(":") + 1))];
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    let t0 = 0;
    let first = 0;
    let last = 0;
    let bytes = 0;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on("connect", () => {
      t0 = performance.now();
      s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    });
    s.on("data", (c: Buffer) => {
      last = performance.now() - t0;
      if (!first) first = last;
      bytes += c.length;
    });
    s.on("end", () => {
      clearTimeout(timer);
      resolve({ firstByteMs: first, lastByteMs: last, endMs: performance.now() - t0, bytes });
      s.destroy();
    });
    s.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
