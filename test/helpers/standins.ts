// Faithful stand-ins for capabilities this host lacks, so that the code paths behind the named skips
// still run here (issue 13 §4). Each replaces as little as possible, and only the missing piece:
//   - tcWithNetem: `tc` on PATH that turns a netem qdisc into a pfifo one and logs the netem arguments
//     it was given. Everything else — the HTB root, the classes, the u32 filter, the undo — is the real
//     tc against the real kernel. What it cannot stand in for is the loss itself (the real-kernel
//     measurement keeps its named skip).
//   - toxiproxyWithPacketLoss: an admin API in front of the real Toxiproxy server that accepts the
//     packet_loss toxic (Toxiproxy after v2.12.0) with the server's own semantics for toxics — 409 on
//     a duplicate name, 404 on a missing one, listed with the proxy's other toxics — and forwards every
//     other request to the real server unchanged. It does not drop data (that measurement keeps its skip).
//   - v2Tree: a cgroup v2-shaped directory tree (cpu.max, memory.high, ...), as the v2 unit tests use.
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";

export interface TcStandIn {
  /** Put first on PATH (env for a child process, or process.env.PATH in this one). */
  binDir: string;
  /** The netem argument lists tc was asked for, in order (e.g. "qdisc add dev eth0 parent a1a0:30 handle 30: netem loss 30%"). */
  netemCalls(): string[];
  env(): NodeJS.ProcessEnv;
  remove(): void;
}

export function tcWithNetem(): TcStandIn {
  const real = spawnSync("sh", ["-c", "command -v tc || echo /usr/sbin/tc"], { encoding: "utf8" }).stdout.trim();
  const binDir = fs.mkdtempSync(path.join(os.tmpdir(), "tc-netem-standin-"));
  const log = path.join(binDir, "netem.log");
  fs.writeFileSync(log, "");
  // POSIX sh: rebuild "$@" without the netem arguments, then append the pfifo that stands in for them.
  const script = `#!/bin/sh
# Stand-in for a kernel with sch_netem (test/helpers/standins.ts): netem becomes pfifo, logged.
case " $* " in
  *" netem "*)
    printf '%s\\n' "$*" >> '${log}'
    first=1; drop=0
    for a in "$@"; do
      if [ "$first" = 1 ]; then set --; first=0; fi
      [ "$a" = netem ] && drop=1
      [ "$drop" = 0 ] && set -- "$@" "$a"
    done
    exec '${real}' "$@" pfifo
    ;;
esac
exec '${real}' "$@"
`;
  fs.writeFileSync(path.join(binDir, "tc"), script, { mode: 0o755 });
  return {
    binDir,
    netemCalls: () => fs.readFileSync(log, "utf8").split("\n").filter(Boolean),
    env: () => ({ ...process.env, PATH: `${binDir}:${process.env.PATH}` }),
    remove: () => fs.rmSync(binDir, { recursive: true, force: true }),
  };
}

interface StoredToxic {
  name: string;
  type: string;
  stream: string;
  toxicity: number;
  attributes: Record<string, unknown>;
}

export interface ToxiproxyFront {
  url: string;
  /** The packet_loss toxics the front holds now, per proxy. */
  packetLoss(proxy: string): StoredToxic[];
  /** Every packet_loss request it handled: "POST p", "UPDATE p/name {...}", "DELETE p/name". */
  log: string[];
  close(): Promise<void>;
}

const readBody = (req: http.IncomingMessage) =>
  new Promise<string>((resolve) => {
    let b = "";
    req.on("data", (d) => (b += d));
    req.on("end", () => resolve(b));
  });

export async function toxiproxyWithPacketLoss(realUrl: string): Promise<ToxiproxyFront> {
  const real = new URL(realUrl);
  const stored = new Map<string, Map<string, StoredToxic>>();
  const of = (proxy: string) => stored.get(proxy) ?? stored.set(proxy, new Map()).get(proxy)!;
  const log: string[] = [];
  const forward = (method: string, p: string, body?: string) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const r = http.request({ host: real.hostname, port: real.port, path: p, method, headers: body !== undefined ? { "content-type": "application/json" } : {} }, (res) => {
        let b = "";
        res.on("data", (d) => (b += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
      });
      r.on("error", reject);
      r.end(body);
    });
  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body === undefined ? "" : JSON.stringify(body));
  };
  const withStored = (proxy: any) => (proxy && typeof proxy === "object" ? { ...proxy, toxics: [...(proxy.toxics ?? []), ...of(proxy.name).values()] } : proxy);

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://front");
      const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
      const body = await readBody(req);
      if (parts[0] === "proxies" && parts.length >= 3 && parts[2] === "toxics") {
        const proxy = parts[1];
        const name = parts[3];
        const mine = of(proxy);
        if (!name && req.method === "POST") {
          const t = JSON.parse(body || "{}");
          if (t.type === "packet_loss") {
            const exists = await forward("GET", `/proxies/${encodeURIComponent(proxy)}`);
            if (exists.status === 404) return send(res, 404, { error: "proxy not found", status: 404 });
            if (mine.has(t.name) || (JSON.parse(exists.body).toxics ?? []).some((x: any) => x.name === t.name)) return send(res, 409, { error: "toxic already exists", status: 409 });
            const toxic = { name: t.name ?? `packet_loss_${t.stream}`, type: "packet_loss", stream: t.stream ?? "downstream", toxicity: t.toxicity ?? 1, attributes: t.attributes ?? {} };
            mine.set(toxic.name, toxic);
            log.push(`POST ${proxy} ${JSON.stringify(toxic.attributes)} toxicity ${toxic.toxicity}`);
            return send(res, 200, toxic);
          }
        } else if (name && mine.has(name)) {
          if (req.method === "GET") return send(res, 200, mine.get(name));
          if (req.method === "DELETE") {
            mine.delete(name);
            log.push(`DELETE ${proxy}/${name}`);
            res.writeHead(204);
            return res.end();
          }
          if (req.method === "POST") {
            const patch = JSON.parse(body || "{}");
            const t = mine.get(name)!;
            const next = { ...t, toxicity: patch.toxicity ?? t.toxicity, attributes: { ...t.attributes, ...(patch.attributes ?? {}) } };
            mine.set(name, next);
            log.push(`UPDATE ${proxy}/${name} ${JSON.stringify(next.attributes)} toxicity ${next.toxicity}`);
            return send(res, 200, next);
          }
        } else if (!name && req.method === "GET") {
          const r = await forward("GET", url.pathname);
          if (r.status !== 200) return send(res, r.status, JSON.parse(r.body || "null"));
          return send(res, 200, [...JSON.parse(r.body), ...mine.values()]);
        }
      }
      const r = await forward(req.method ?? "GET", url.pathname + url.search, body === "" ? undefined : body);
      if (req.method === "DELETE" && parts[0] === "proxies" && parts.length === 2 && r.status < 300) stored.delete(parts[1]);
      if (req.method === "GET" && r.status === 200 && parts[0] === "proxies" && parts.length <= 2) {
        const data = JSON.parse(r.body);
        return send(res, 200, parts.length === 2 ? withStored(data) : Object.fromEntries(Object.entries(data).map(([k, v]) => [k, withStored(v)])));
      }
      res.writeHead(r.status, { "content-type": r.headers["content-type"] ?? "text/plain" });
      res.end(r.body);
    } catch (e: any) {
      send(res, 502, { error: `front: ${e.message}`, status: 502 });
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    packetLoss: (proxy) => [...of(proxy).values()],
    log,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** The kernel files of a fresh v2 cgroup, as the kernel shows them. */
export const V2_FILES: Record<string, string> = { "cpu.max": "max 100000", "memory.max": "max", "memory.high": "max", "pids.max": "max", "io.max": "", "cgroup.procs": "", "memory.current": String(20 << 20) };

export interface V2Tree {
  root: string;
  rel: string;
  file(name: string): string;
  remove(): void;
}

/** A v2-shaped tree with one cgroup at <root>/<rel> holding `pids` (its cgroup.procs). */
export function v2Tree(pids: number[] = [], rel = "sandbox/workload"): V2Tree {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "cgroup-v2-standin-"));
  const dir = path.join(root, rel);
  fs.mkdirSync(dir, { recursive: true });
  for (const [f, v] of Object.entries(V2_FILES)) fs.writeFileSync(path.join(dir, f), f === "cgroup.procs" ? pids.join("\n") : v);
  return {
    root,
    rel,
    file: (name) => fs.readFileSync(path.join(dir, name), "utf8").trim(),
    remove: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}
