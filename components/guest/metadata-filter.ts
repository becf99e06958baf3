// The metadata filter: the only way the workload's uid reaches the cloud's metadata server
// (169.254.169.254:80). The workload needs the server for its own credentials (its model access), but
// the same server hands out the instance's boot script / user data — which carries the guard's config
// and so the list of canary files (docs/guest-guard.md). The guest table redirects the workload's
// connections to 169.254.169.254:80 here (./nft.ts, `metadata_redirect`), so software that hard-codes
// the address still works; this forwarder passes on only the requests its cloud's allowlist names
// (declared in components/{aws,gcp,azure}/platform.ts) and answers 403 to everything else, reporting
// each refusal to the guard (recorded, and counted with the denied egress).
//
// It runs inside the guard's root process and its upstream connection is root's, so the guest
// table's metadata rule for system uids stays root-only. Headers pass through unchanged in both
// directions (IMDSv2's token headers, `Metadata-Flavor: Google`, `Metadata: true`); nothing is added
// — in particular no X-Forwarded-For, which IMDSv2's token call and Azure's IMDS refuse. IMDSv2's hop
// limit 1 still holds: the filter is on the instance itself.
//
// Dependency-free Node (the guard runs on the uploaded node binary). `node metadata-filter.js
// <config.json>` runs it alone (diagnostics, the real-kernel test): one JSON line per refusal on stdout.
import * as fs from "fs";
import * as http from "http";
import type * as net from "net";

/**
 * One request the workload may make to the metadata server. `path` is matched whole; a `{name}`
 * segment matches one path segment (e.g. the instance role's name). `query`: the parameter names it
 * may carry (none when absent) — a parameter like GCP's `recursive` on a directory would otherwise
 * turn an allowed listing into a dump.
 */
export interface MetadataAllow {
  method: "GET" | "PUT";
  path: string;
  query?: string[];
}

/**
 * What one workload may make the filter hold. The filter runs with the metadata server's trust, so
 * nothing a request does may make it grow: each request is bounded (body, headers, time) and so is
 * their number. None of the allowlisted calls carries a body of size (IMDSv2's token PUT has none,
 * GCP's and Azure's calls are GETs) or headers near 8 KiB; a well-behaved client sends its request
 * at once and keeps at most a few connections.
 */
export interface MetadataFilterLimits {
  /** Request body bytes buffered before it is forwarded; over it: 413, refused. */
  maxBodyBytes: number;
  /** Request line and headers together (Node's maxHeaderSize); over it: 431, refused. */
  maxHeaderBytes: number;
  /** From a connection's first byte until its headers are complete; past it (a slow client): 408, refused. */
  headersTimeoutMs: number;
  /** The whole request, body included; past it: 408, refused. */
  requestTimeoutMs: number;
  /** An open connection with nothing in flight is closed after this (not a refusal). */
  idleTimeoutMs: number;
  /** Open connections; one more is dropped at once, refused. */
  maxConnections: number;
}

export const METADATA_FILTER_LIMITS: Readonly<MetadataFilterLimits> = {
  maxBodyBytes: 4096,
  maxHeaderBytes: 8192,
  headersTimeoutMs: 5000,
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 5000,
  maxConnections: 32,
};

export interface MetadataFilterConfig {
  /** Where the filter listens (loopback); the guest table redirects the workload's metadata connections here. */
  listen: { address: string; port: number };
  /** The metadata server. */
  upstream: { address: string; port: number };
  /** What the workload may ask (the cloud's list: components/<cloud>/platform.ts). */
  allow: MetadataAllow[];
  /**
   * The uid the filter runs as (./metadata-supervisor.ts): the only uid besides root the guest table
   * lets reach the metadata server. Never root, never the workload's.
   */
  uid?: number;
  /** Overrides of METADATA_FILTER_LIMITS (tests); absent: the defaults. */
  limits?: Partial<MetadataFilterLimits>;
}

export interface MetadataRefusal {
  /** The answer it got (403, 413, 431, 408, 400), or 0 for a connection dropped unanswered. */
  status: number;
  method: string;
  /** The request target as sent, cut to 200 characters. */
  target: string;
  why: string;
  from: string;
}

/**
 * The metadata filter's own uid inside the VM. No passwd entry is needed (setpriv takes the number);
 * it lies in the range systemd leaves unallocated (60578–61183: systemd's UIDS-GIDS.md), beyond the
 * images' regular (1000–60000) and system (< 1000) users, so nothing else on the image runs as it.
 */
export const METADATA_FILTER_UID = 60_900;

/** Loopback port of the metadata filter inside the VM (beside the canary endpoint's 9911). */
export const METADATA_FILTER_PORT = 9912;

const SEGMENT = /^[A-Za-z0-9._@+=,~-]+$/;

/** Throws, naming the field, unless `allow` is a list of well-formed entries. */
export function assertMetadataAllow(field: string, allow: unknown): asserts allow is MetadataAllow[] {
  if (!Array.isArray(allow) || allow.length === 0) throw new Error(`${field}: empty or missing — list the metadata paths the workload needs for its credentials (components/<cloud>/platform.ts); without one the workload has no credentials`);
  allow.forEach((a: MetadataAllow, i) => {
    if (a?.method !== "GET" && a?.method !== "PUT") throw new Error(`${field}[${i}].method: ${JSON.stringify(a?.method)} is not GET or PUT`);
    const segs = typeof a.path === "string" && a.path.startsWith("/") ? a.path.split("/").slice(1) : undefined;
    if (!segs || segs.slice(0, -1).some((s) => s === "") || !segs.every((s) => s === "" || s === "{name}" || (SEGMENT.test(s) && s !== "." && s !== "..")))
      throw new Error(`${field}[${i}].path: ${JSON.stringify(a.path)} is not an absolute path of plain segments (letters, digits, ._@+=,~-, or {name})`);
    if (a.query !== undefined && !(Array.isArray(a.query) && a.query.every((q) => typeof q === "string" && /^[A-Za-z0-9_.-]+$/.test(q)))) throw new Error(`${field}[${i}].query: ${JSON.stringify(a.query)} is not a list of parameter names`);
  });
}

/** The limits in force: the defaults with `over`'s fields, each checked (a field, and what it must be). */
export function metadataFilterLimits(over: Partial<MetadataFilterLimits> = {}): MetadataFilterLimits {
  const l = { ...METADATA_FILTER_LIMITS, ...over };
  for (const [k, v] of Object.entries(l)) if (!(Number.isInteger(v) && v > 0)) throw new Error(`metadata.limits.${k}: ${JSON.stringify(v)} is not a whole number above 0`);
  if (l.requestTimeoutMs < l.headersTimeoutMs) throw new Error(`metadata.limits.requestTimeoutMs (${l.requestTimeoutMs}) is below headersTimeoutMs (${l.headersTimeoutMs}): the request's time includes its headers'`);
  return l;
}

/**
 * Why the request may not pass (undefined: it may). Strict on purpose: the target must be an
 * origin-form path of plain segments (no %-escapes, no `.`/`..`, no empty segment), so no spelling
 * the server might normalise differently reaches a path the list does not name.
 */
export function metadataRefusal(allow: readonly MetadataAllow[], method: string, target: string): string | undefined {
  if (!target.startsWith("/")) return "not an origin-form request target";
  const q = target.indexOf("?");
  const pathPart = q < 0 ? target : target.slice(0, q);
  const segs = pathPart.split("/").slice(1);
  if (segs.slice(0, -1).some((s) => s === "") || !segs.every((s) => s === "" || (SEGMENT.test(s) && s !== "." && s !== ".."))) return "the path is not plain segments";
  const params = q < 0 ? [] : target.slice(q + 1).split("&").filter((p) => p !== "").map((p) => p.split("=")[0]);
  const hit = allow.find((a) => {
    if (a.method !== method) return false;
    const want = a.path.split("/").slice(1);
    return want.length === segs.length && want.every((w, i) => (w === "{name}" ? segs[i] !== "" : w === segs[i]));
  });
  if (!hit) return "not on the cloud's metadata allowlist";
  const extra = params.filter((p) => !(hit.query ?? []).includes(p));
  if (extra.length) return `query parameter(s) ${extra.join(", ")} not allowed on ${hit.path}`;
  return undefined;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1): the filter is a hop, so these are its own, never forwarded. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade"]);

function endToEnd(h: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(h).filter(([k, v]) => v !== undefined && !HOP_BY_HOP.has(k.toLowerCase())));
}

export interface MetadataFilter {
  port: number;
  close(): Promise<void>;
}

/** How long a refused connection is still read (and discarded) after its answer: see refuse(). */
const LINGER_MS = 1000;

/** What a parse error of Node's HTTP server means for the client: the answer and the refusal's reason. */
function clientErrorAnswer(err: NodeJS.ErrnoException, l: MetadataFilterLimits): { status: number; why: string } | undefined {
  if (err.code === "ECONNRESET" || err.code === "EPIPE") return undefined; // the client went away
  if (err.code === "HPE_HEADER_OVERFLOW") return { status: 431, why: `request line and headers over ${l.maxHeaderBytes} bytes` };
  if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") return { status: 408, why: `the request was not complete within ${l.headersTimeoutMs} ms (headers) / ${l.requestTimeoutMs} ms (whole request)` };
  return { status: 400, why: `malformed request (${err.code ?? err.message})` };
}

/** Starts the filter; `refused` is called once for every request answered with a refusal (and every connection dropped). */
export function startMetadataFilter(cfg: MetadataFilterConfig, refused: (r: MetadataRefusal) => void): Promise<MetadataFilter> {
  assertMetadataAllow("metadata.allow", cfg.allow);
  const l = metadataFilterLimits(cfg.limits);
  const report = (r: MetadataRefusal) => {
    try {
      refused(r);
    } catch {
      // A failing reporter must not take the filter down.
    }
  };
  /** Connections already answered with a refusal: what their parser says after that is no new refusal. */
  const refusedSockets = new WeakSet<object>();
  const refuse = (req: http.IncomingMessage, res: http.ServerResponse, status: number, why: string) => {
    const method = req.method ?? "";
    const target = req.url ?? "";
    // Nothing more of this request is read into memory. Once the answer is out the filter half-closes
    // and stops reading, then drops the connection LINGER_MS later: Node's own close after a
    // `connection: close` answer (socket.destroySoon, _http_server.js resOnFinish) resets a connection
    // whose client is still sending at once, and the reset makes that client lose the answer. Not
    // reading meanwhile (rather than discarding) costs the filter nothing: the client's sends block.
    const socket = req.socket;
    refusedSockets.add(socket);
    socket.destroySoon = () => (socket.end(), socket.pause(), setTimeout(() => socket.destroy(), LINGER_MS).unref());
    res.writeHead(status, { "content-type": "text/plain", connection: "close" }).end(status === 403 ? "forbidden\n" : `${http.STATUS_CODES[status]?.toLowerCase() ?? "refused"}\n`);
    report({ status, method, target: target.slice(0, 200), why, from: `${req.socket.remoteAddress}:${req.socket.remotePort}` });
  };
  const forward = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => {
    const headers = endToEnd(req.headers);
    // The body is forwarded whole (it was read under the limit): its length is now known.
    if (body.length > 0 || req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined) headers["content-length"] = String(body.length);
    const up = http.request({ host: cfg.upstream.address, port: cfg.upstream.port, method: req.method, path: req.url, headers, agent: false, timeout: 10_000 }, (r) => {
      res.writeHead(r.statusCode ?? 502, endToEnd(r.headers));
      r.pipe(res);
    });
    up.on("timeout", () => up.destroy(new Error("timeout")));
    up.on("error", () => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" }).end("metadata server unreachable\n");
      else res.destroy();
    });
    up.end(body);
  };
  const server = http.createServer(
    // Node's own bounds (http.createServer options, Node >= 18): the header size, and the two request
    // timeouts, checked every connectionsCheckingInterval (30 s by default: too coarse here).
    { maxHeaderSize: l.maxHeaderBytes, headersTimeout: l.headersTimeoutMs, requestTimeout: l.requestTimeoutMs, keepAliveTimeout: l.idleTimeoutMs, connectionsCheckingInterval: Math.min(1000, l.headersTimeoutMs) },
    (req, res) => {
      const why = metadataRefusal(cfg.allow, req.method ?? "", req.url ?? "");
      if (why) return refuse(req, res, 403, why);
      const declared = Number(req.headers["content-length"] ?? 0);
      if (!(declared <= l.maxBodyBytes)) return refuse(req, res, 413, `a declared body of ${req.headers["content-length"]} bytes (the limit is ${l.maxBodyBytes})`);
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      req.on("data", (c: Buffer) => {
        if (over) return;
        size += c.length;
        if (size > l.maxBodyBytes) {
          over = true;
          chunks.length = 0;
          refuse(req, res, 413, `a body over ${l.maxBodyBytes} bytes`);
        } else chunks.push(c);
      });
      req.on("end", () => void (over || forward(req, res, Buffer.concat(chunks))));
    },
  );
  server.maxHeadersCount = 64;
  server.maxConnections = l.maxConnections;
  // An open connection with nothing moving (no request under way: a kept-alive one) is closed.
  server.timeout = l.idleTimeoutMs;
  server.on("drop", (d?: { remoteAddress?: string; remotePort?: number }) => report({ status: 0, method: "", target: "", why: `more than ${l.maxConnections} open connections`, from: `${d?.remoteAddress}:${d?.remotePort}` }));
  server.on("clientError", (err: NodeJS.ErrnoException, duplex) => {
    const socket = duplex as net.Socket; // an http.Server's connections are net.Sockets
    if (refusedSockets.has(socket)) return void socket.destroy();
    const a = clientErrorAnswer(err, l);
    // A connection that never sent a byte and timed out is an idle one (a client's spare connection), not a refusal.
    const silent = err.code === "ERR_HTTP_REQUEST_TIMEOUT" && socket.bytesRead === 0;
    if (a && socket.writable) socket.end(`HTTP/1.1 ${a.status} ${http.STATUS_CODES[a.status]}\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
    if (a && !silent) report({ status: a.status, method: "", target: "", why: a.why, from: `${socket.remoteAddress}:${socket.remotePort}` });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(cfg.listen.port, cfg.listen.address, () => {
      server.off("error", reject);
      const addr = server.address();
      resolve({ port: typeof addr === "object" && addr ? addr.port : cfg.listen.port, close: () => new Promise<void>((r) => (server.closeAllConnections?.(), server.close(() => r()))) });
    });
  });
}

if (require.main === module || process.argv[1] === __filename) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write("usage: node metadata-filter.js <config.json: a MetadataFilterConfig, or - for stdin>\n");
    process.exit(2);
  }
  // "-": the config on stdin (how the guard hands it over: its own config file is root-only).
  const cfg = JSON.parse(fs.readFileSync(file === "-" ? 0 : file, "utf8")) as MetadataFilterConfig;
  startMetadataFilter(cfg, (r) => process.stdout.write(JSON.stringify({ refused: r }) + "\n")).then(
    (f) => process.stdout.write(JSON.stringify({ listening: `${cfg.listen.address}:${f.port}` }) + "\n"),
    (e) => {
      process.stderr.write(`metadata-filter: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
