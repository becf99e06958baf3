// One timed round trip through a gate listener, on a fresh TCP connection (Toxiproxy draws toxicity
// per connection, so reusing one would measure one draw forever). Raw sockets rather than node's
// http client: the timings are the socket's, with no agent or parser in between.
//
//   http: GET <path> HTTP/1.1 with Connection: close; read to the end; check Content-Length.
//   tcp:  write <send>, wait for the first byte back, close.
// Latency = first response byte - request written (what a latency toxic adds to); the total includes
// the transfer (what a bandwidth cap stretches).
import * as net from "net";
import { clock } from "./clock";

export type RequestError = "refused" | "reset" | "timeout" | "closed" | "truncated" | "bad-status" | "other";

export interface RequestSpec {
  kind: "http" | "tcp";
  path: string;
  send: string;
}

export interface TimedRequest {
  ok: boolean;
  /** Epoch ms when the connection was opened. */
  startedAt: number;
  /** Request written -> first response byte. */
  latencyMs?: number;
  /** Connection opened -> complete answer (or failure). */
  totalMs: number;
  /** Response body bytes (http) or bytes read (tcp). */
  bytes: number;
  /** Body bytes per second over the transfer, for answers large enough to say (>= 16 KiB). */
  throughputBps?: number;
  status?: number;
  error?: RequestError;
  detail?: string;
}

export function splitHostPort(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(":");
  let host = listen.slice(0, i);
  if (host === "" || host === "0.0.0.0" || host === "[::]") host = "127.0.0.1";
  return { host: host.replace(/^\[|\]$/g, ""), port: Number(listen.slice(i + 1)) };
}

const now = () => performance.now();

export function timedRequest(listen: string, spec: RequestSpec, timeoutMs: number, expectStatus?: number[]): Promise<TimedRequest> {
  const { host, port } = splitHostPort(listen);
  const startedAt = clock();
  const t0 = now();
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let written = 0;
    let first = 0;
    let raw = Buffer.alloc(0);
    let done = false;
    const finish = (r: Omit<TimedRequest, "startedAt" | "totalMs" | "latencyMs"> & { latencyMs?: number }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ startedAt, totalMs: round(now() - t0), latencyMs: first ? round(first - written) : undefined, ...r });
    };
    const timer = setTimeout(() => finish({ ok: false, bytes: raw.length, error: "timeout", detail: `no complete answer within ${timeoutMs} ms` }), timeoutMs);
    sock.setNoDelay(true);
    sock.on("connect", () => {
      written = now();
      if (spec.kind === "http") sock.write(`GET ${spec.path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUser-Agent: airlock-chaos\r\nConnection: close\r\n\r\n`);
      else sock.write(spec.send);
    });
    sock.on("data", (chunk: Buffer) => {
      if (!first) first = now();
      raw = Buffer.concat([raw, chunk]);
      if (spec.kind === "tcp") finish({ ok: true, bytes: raw.length });
    });
    sock.on("error", (e: NodeJS.ErrnoException) => {
      const error: RequestError = e.code === "ECONNREFUSED" ? "refused" : e.code === "ECONNRESET" || e.code === "EPIPE" ? "reset" : "other";
      finish({ ok: false, bytes: raw.length, error, detail: e.code ?? e.message });
    });
    sock.on("close", () => {
      if (spec.kind === "tcp") return finish({ ok: false, bytes: 0, error: "closed", detail: "closed before any answer" });
      finish(parseHttp(raw, first, expectStatus));
    });
  });
}

function parseHttp(raw: Buffer, first: number, expectStatus?: number[]): Omit<TimedRequest, "startedAt" | "totalMs"> {
  if (raw.length === 0) return { ok: false, bytes: 0, error: "closed", detail: "closed before any answer" };
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) return { ok: false, bytes: 0, error: "truncated", detail: "closed inside the response headers" };
  const head = raw.subarray(0, end).toString("latin1");
  const status = Number(/^HTTP\/\d(?:\.\d)? (\d{3})/.exec(head)?.[1]);
  const body = raw.length - end - 4;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  const transfer = (now() - first) / 1000;
  const throughputBps = body >= 16 * 1024 && transfer > 0 ? Math.round(body / transfer) : undefined;
  if (length && Number(length[1]) > body) return { ok: false, bytes: body, status, error: "truncated", detail: `${body} of ${length[1]} body bytes` };
  const good = expectStatus ? expectStatus.includes(status) : status >= 200 && status < 400;
  return good ? { ok: true, bytes: body, status, throughputBps } : { ok: false, bytes: body, status, throughputBps, error: "bad-status", detail: `HTTP ${status}` };
}

const round = (x: number) => Math.round(x * 100) / 100;
