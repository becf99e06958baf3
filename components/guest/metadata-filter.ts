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

export interface MetadataFilterConfig {
  /** Where the filter listens (loopback); the guest table redirects the workload's metadata connections here. */
  listen: { address: string; port: number };
  /** The metadata server. */
  upstream: { address: string; port: number };
  /** What the workload may ask (the cloud's list: components/<cloud>/platform.ts). */
  allow: MetadataAllow[];
}

export interface MetadataRefusal {
  method: string;
  /** The request target as sent, cut to 200 characters. */
  target: string;
  why: string;
  from: string;
}

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

/** Starts the filter; `refused` is called once for every request answered 403. */
export function startMetadataFilter(cfg: MetadataFilterConfig, refused: (r: MetadataRefusal) => void): Promise<MetadataFilter> {
  assertMetadataAllow("metadata.allow", cfg.allow);
  const server = http.createServer((req, res) => {
    const method = req.method ?? "";
    const target = req.url ?? "";
    const why = metadataRefusal(cfg.allow, method, target);
    if (why) {
      req.resume();
      res.writeHead(403, { "content-type": "text/plain", connection: "close" }).end("forbidden\n");
      try {
        refused({ method, target: target.slice(0, 200), why, from: `${req.socket.remoteAddress}:${req.socket.remotePort}` });
      } catch {
        // A failing reporter must not take the filter down.
      }
      return;
    }
    const up = http.request({ host: cfg.upstream.address, port: cfg.upstream.port, method, path: target, headers: endToEnd(req.headers), agent: false, timeout: 10_000 }, (r) => {
      res.writeHead(r.statusCode ?? 502, endToEnd(r.headers));
      r.pipe(res);
    });
    up.on("timeout", () => up.destroy(new Error("timeout")));
    up.on("error", () => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" }).end("metadata server unreachable\n");
      else res.destroy();
    });
    req.pipe(up);
  });
  // Small bodies and headers only: the metadata calls carry none of size.
  server.maxHeadersCount = 64;
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
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
    process.stderr.write("usage: node metadata-filter.js <config.json: a MetadataFilterConfig>\n");
    process.exit(2);
  }
  const cfg = JSON.parse(fs.readFileSync(file, "utf8")) as MetadataFilterConfig;
  startMetadataFilter(cfg, (r) => process.stdout.write(JSON.stringify({ refused: r }) + "\n")).then(
    (f) => process.stdout.write(JSON.stringify({ listening: `${cfg.listen.address}:${f.port}` }) + "\n"),
    (e) => {
      process.stderr.write(`metadata-filter: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
