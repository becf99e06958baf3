// A VM-shaped pair of network namespaces for the guest firewall's real-kernel tests: a "guest"
// namespace (where the guest table is loaded) whose only neighbour, through one veth, is a "cloud"
// namespace holding the stand-in hosts — stores, the metadata server at 169.254.169.254, whatever a
// test adds. No packet leaves the two. Names carry the run tag (and the test's own part) so parallel
// runs and helpers never collide; `remove()` undoes everything `create()` made.
import * as assert from "assert";
import { spawn, spawnSync, ChildProcess } from "child_process";
import { RUN_TAG } from "./run-scope";

export const PY = "/usr/bin/python3";

export const sh = (args: string[]) => spawnSync(args[0], args.slice(1), { encoding: "utf8" });
export const must = (args: string[], input?: string) => {
  const r = spawnSync(args[0], args.slice(1), { encoding: "utf8", input });
  if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

/** One TCP connection from the guest namespace: "ok" or the errno's name. */
const CONNECT = String.raw`
import socket, sys, errno
s = socket.socket(); s.settimeout(3)
try: s.connect((sys.argv[1], int(sys.argv[2]))); print("ok")
except OSError as e: print(errno.errorcode.get(e.errno, str(e)))
`;

/** The argv prefix running a command as `uid` (nothing for root). */
export const asUid = (uid: number) => (uid === 0 ? [] : ["setpriv", "--reuid", String(uid), "--regid", String(uid), "--clear-groups", "--"]);

/** A stand-in metadata server: every path answers 200 "served <path>"; each request is logged as a line "saw <method> <path>". */
export const METADATA_STAND_IN = String.raw`
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        body = ("served " + self.path).encode()
        print("saw " + self.command + " " + self.path, flush=True)
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    do_GET = answer
    do_PUT = answer
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H)
print("up", flush=True)
s.serve_forever()
`;

export class GuestCloudPair {
  readonly guestNs: string;
  readonly cloudNs: string;
  private readonly guestIf: string;
  private readonly cloudIf: string;
  private readonly children: ChildProcess[] = [];

  /** `part`: a short name for the test (2 letters go into the interface names, which have 15 characters). */
  constructor(part: string, readonly net: { guest: string; router: string } = { guest: "10.252.0.20", router: "10.252.0.1" }) {
    this.guestNs = `airlock-tf-${part}guest-${RUN_TAG}`;
    this.cloudNs = `airlock-tf-${part}cloud-${RUN_TAG}`;
    this.guestIf = `airlocktf${RUN_TAG}${part.slice(0, 1)}g`;
    this.cloudIf = `airlocktf${RUN_TAG}${part.slice(0, 1)}c`;
  }

  /** Both namespaces, the veth between them (the cloud side is the guest's default router) and `hosts` on the cloud side. */
  create(hosts: string[]): void {
    must(["ip", "netns", "add", this.guestNs]);
    must(["ip", "netns", "add", this.cloudNs]);
    must(["ip", "link", "add", this.guestIf, "netns", this.guestNs, "type", "veth", "peer", "name", this.cloudIf, "netns", this.cloudNs]);
    for (const c of [["link", "set", "lo", "up"], ["addr", "add", `${this.net.guest}/24`, "dev", this.guestIf], ["link", "set", this.guestIf, "up"], ["route", "add", "default", "via", this.net.router]]) must(["ip", "-n", this.guestNs, ...c]);
    for (const c of [["link", "set", "lo", "up"], ["addr", "add", `${this.net.router}/24`, "dev", this.cloudIf], ...[...new Set(hosts)].map((h) => ["addr", "add", `${h}/32`, "dev", this.cloudIf]), ["link", "set", this.cloudIf, "up"]]) must(["ip", "-n", this.cloudNs, ...c]);
  }

  /** A process in a namespace, killed by remove(); resolves once it printed its first line. */
  async start(ns: "guest" | "cloud", argv: string[], onLine?: (line: string) => void): Promise<ChildProcess> {
    const child = spawn("ip", ["netns", "exec", ns === "guest" ? this.guestNs : this.cloudNs, ...argv], { stdio: ["ignore", "pipe", "inherit"] });
    this.children.push(child);
    let buf = "";
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (d) => {
        buf += d;
        for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          onLine?.(line);
          resolve();
        }
      });
      child.once("exit", (c) => reject(new Error(`${argv.join(" ")} exited ${c}`)));
    });
    return child;
  }

  /** A TCP listener in the cloud namespace that accepts, greets and closes. */
  listener(address: string, port: number): Promise<ChildProcess> {
    const code = `import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("${address}", ${port})); s.listen(64)\nprint("up", flush=True)\nwhile True:\n  c,_=s.accept(); c.sendall(b"hi"); c.close()`;
    return this.start("cloud", [PY, "-c", code]);
  }

  /** Runs argv in the guest namespace as `uid`. */
  inGuest(uid: number, argv: string[]): string {
    return must(["nsenter", `--net=/run/netns/${this.guestNs}`, "--", ...asUid(uid), ...argv]);
  }

  connectAs(uid: number, to: { address: string; port: number }): string {
    return this.inGuest(uid, [PY, "-c", CONNECT, to.address, String(to.port)]).trim();
  }

  loadRuleset(ruleset: string): void {
    must(["ip", "netns", "exec", this.guestNs, "nft", "-f", "-"], ruleset);
  }

  /** A counter of the guest table, read back from the kernel (fails when the table or counter is missing). */
  packets(table: string, counter: string): number {
    const out = JSON.parse(must(["ip", "netns", "exec", this.guestNs, "nft", "-j", "list", "counter", "inet", table, counter]));
    const c = (out.nftables as any[]).find((i) => i.counter)?.counter;
    assert.ok(c, `counter ${counter} in ${JSON.stringify(out)}`);
    return c.packets;
  }

  remove(): void {
    for (const c of this.children) c.kill("SIGKILL");
    sh(["ip", "netns", "del", this.guestNs]);
    sh(["ip", "netns", "del", this.cloudNs]);
  }
}
