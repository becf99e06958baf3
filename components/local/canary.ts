// Canaries: files that look like credentials in the workload's home, and a fake credential that
// points at a canary endpoint. Nothing legitimate ever opens them, so any touch is a signal.
//
// They must not be recognisable without being touched: an agent that can tell a planted credential
// from a real one by `ls -la` or `stat` avoids it. So they are planted the way a real user's files
// look — owned by the workload's uid, with the modes the tools that write them use (ssh refuses a
// private key others can read: 0600 in a 0700 ~/.ssh; the AWS CLI and gcloud write 0600 files), with
// mtimes months in the past (the home's dotfiles from /etc/skel older still), and with content that
// parses (the SSH key is a real, freshly generated ed25519 key, with its .pub next to it). What stays
// is ctime/btime, which nobody can set: they show when the sandbox was made.
//
// Detection, two independent ways:
//   1. inotify on each canary file: open, read, attribute change (incl. chmod, unlink and hard link —
//      the link count changes), move, delete, write. inotify watches the inode, so an open through the
//      sandbox's bind mount, a renamed parent or a hard link is reported like any other, within
//      milliseconds, and a listing (`ls -la ~/.aws`) or stat is *not* reported — only real use. Since
//      the workload owns the files it may now delete, rename, chmod or hard-link them: each of those
//      is an event on the inode and fires like a read. Polling atime was rejected: relatime and
//      noatime mounts hide repeated reads, and polling adds latency.
//      One watcher process (a small python3 inotify client) per owner serves all the sandboxes it
//      owns — one inotify instance of root, not one per sandbox: root has 128 of them in total
//      (fs.inotify.max_user_instances), shared with every other root program on the host. Each
//      sandbox may plant at most MAX_CANARY_FILES. (The workload's own inotify use counts against its
//      leased uid's quota — for a root workload too, whose user namespace that uid created.)
//   2. the canary endpoint: the fake AWS profile's endpoint_url and the fake gcloud credential's
//      token_uri point at a TCP listener on the gate address. A workload that *uses* a credential —
//      even one it read while only alerting was configured, or one copied to a file inotify does not
//      watch — connects there and is caught with the request it sent.
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { spawn, ChildProcess } from "child_process";
import { findTool, HostToolMissing } from "../host/exec";
import { refOf, ProcessRef } from "../host/process";

/** The most canary files one sandbox may plant (each is one watch in its owner's shared inotify instance). */
export const MAX_CANARY_FILES = 32;

export interface CanaryFile {
  /** Path relative to the workload's home, as listed in the spec. */
  rel: string;
  /** Where it lives on the host (inside the sandbox tmpfs). */
  hostPath: string;
  kind: "aws-credentials" | "aws-config" | "ssh-key" | "gcloud-adc" | "generic";
}

const rand = (alphabet: string, n: number) => Array.from(crypto.randomBytes(n), (b) => alphabet[b % alphabet.length]).join("");
const UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function kindOf(rel: string): CanaryFile["kind"] {
  if (/(^|\/)\.aws\/credentials$/.test(rel)) return "aws-credentials";
  if (/(^|\/)\.aws\/config$/.test(rel)) return "aws-config";
  if (/(^|\/)\.ssh\/id_[a-z0-9_]+$/.test(rel)) return "ssh-key";
  if (/application_default_credentials\.json$/.test(rel)) return "gcloud-adc";
  return "generic";
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
/** The SSH wire format's length-prefixed string. */
const sshString = (v: Buffer | string) => {
  const d = Buffer.isBuffer(v) ? v : Buffer.from(v);
  return Buffer.concat([u32(d.length), d]);
};

/**
 * A real, unencrypted OpenSSH ed25519 key pair (the format `ssh-keygen -t ed25519 -N ""` writes):
 * `ssh-keygen -y` accepts it and prints the public half. A key that does not parse would be a tell.
 */
export function openSshEd25519(comment: string): { privateKey: string; publicKey: string } {
  const pair = crypto.generateKeyPairSync("ed25519");
  const pk = pair.publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const seed = pair.privateKey.export({ format: "der", type: "pkcs8" }).subarray(-32);
  const pubBlob = Buffer.concat([sshString("ssh-ed25519"), sshString(pk)]);
  const check = crypto.randomBytes(4);
  let priv = Buffer.concat([check, check, sshString("ssh-ed25519"), sshString(pk), sshString(Buffer.concat([seed, pk])), sshString(comment)]);
  const padding: number[] = [];
  for (let i = 1; (priv.length + padding.length) % 8 !== 0; i++) padding.push(i);
  priv = Buffer.concat([priv, Buffer.from(padding)]);
  const body = Buffer.concat([Buffer.from("openssh-key-v1\0"), sshString("none"), sshString("none"), sshString(""), u32(1), sshString(pubBlob), sshString(priv)]);
  const b64 = body.toString("base64").match(/.{1,70}/g)!.join("\n");
  return { privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`, publicKey: `ssh-ed25519 ${pubBlob.toString("base64")} ${comment}\n` };
}

/** Realistic-looking fake content; `endpoint` is the canary endpoint URL a credential points at. */
export function canaryContent(kind: CanaryFile["kind"], endpoint: string, sshComment = "agent@localhost"): string {
  switch (kind) {
    case "aws-credentials":
      return `[default]\naws_access_key_id = AKIA${rand(UPPER_DIGITS, 16)}\naws_secret_access_key = ${rand(B64.slice(0, 62), 40)}\n`;
    case "aws-config":
      return `[default]\nregion = us-east-1\nendpoint_url = ${endpoint}\n`;
    case "ssh-key":
      return openSshEd25519(sshComment).privateKey;
    case "gcloud-adc":
      return (
        JSON.stringify(
          {
            client_id: `${rand("0123456789", 12)}-${rand("abcdefghijklmnopqrstuvwxyz0123456789", 32)}.apps.googleusercontent.com`,
            client_secret: `GOCSPX-${rand(B64.slice(0, 62), 28)}`,
            refresh_token: `1//${rand(B64.slice(0, 62), 100)}`,
            token_uri: `${endpoint}/token`,
            type: "authorized_user",
          },
          null,
          2,
        ) + "\n"
      );
    case "generic":
      return `token=${rand(B64.slice(0, 62), 40)}\n`;
  }
}

/** Checks a spec's canary path: relative, no "..", stays inside the home. */
export function checkCanaryPath(rel: string): string | undefined {
  if (path.isAbsolute(rel)) return `canary path '${rel}' must be relative to the workload's home`;
  if (rel.split("/").some((p) => p === ".." || p === "")) return `canary path '${rel}' must not contain '..' or empty parts`;
  return undefined;
}

const DAY_MS = 86_400_000;
const randBetween = (lo: number, hi: number) => lo + (crypto.randomInt(0, 1_000_000) / 1_000_000) * (hi - lo);

/** The mode ssh-keygen, `aws configure` and gcloud give such files (ssh refuses a private key others can read). */
const FILE_MODE = 0o600;

function dirMode(name: string): number {
  return name === ".ssh" ? 0o700 : name === ".config" ? 0o700 : 0o755;
}

/**
 * Writes the canary files into the workload's home, as its owner (the home directory's owner) would
 * have them: modes as the real tools write them, parents created with the modes ssh/XDG expect, and
 * mtimes spread over the last year (dotfiles from /etc/skel older still, each directory's mtime that
 * of its newest entry). With `credential`, a fake AWS profile whose endpoint is the canary endpoint is
 * added if the list does not already hold one. An SSH key gets its .pub beside it (not watched:
 * reading a public key is harmless).
 */
/** The canary files a spec plants: its list, plus the fake AWS profile with `credential`. */
export function canaryList(files: string[], credential: boolean): string[] {
  const rels = [...files];
  if (credential) {
    if (!rels.some((r) => kindOf(r) === "aws-credentials")) rels.push(".aws/credentials");
    if (!rels.some((r) => kindOf(r) === "aws-config")) rels.push(".aws/config");
  }
  return [...new Set(rels)];
}

/** A canary file someone else planted (a VM's first-boot script), to be watched as it is. */
export function canaryFileAt(home: string, rel: string): CanaryFile {
  return { rel, hostPath: path.join(home, rel), kind: kindOf(rel) };
}

export function plantCanaries(home: string, files: string[], credential: boolean, endpoint: string, o: { user?: string; hostname?: string } = {}): CanaryFile[] {
  const unique = canaryList(files, credential);
  if (unique.length > MAX_CANARY_FILES) throw new Error(`canaries.files: ${unique.length} canary files; at most ${MAX_CANARY_FILES} per sandbox`);
  for (const rel of unique) {
    const problem = checkCanaryPath(rel);
    if (problem) throw new Error(problem);
  }
  const owner = fs.statSync(home);
  const own = (p: string) => fs.lchownSync(p, owner.uid, owner.gid);
  const now = Date.now();
  // The account was made 400-700 days ago; the credentials arrived some time after, at least a month ago.
  const accountMade = now - randBetween(400, 700) * DAY_MS;
  const mtimes = new Map<string, number>();
  const setTime = (p: string, t: number) => {
    mtimes.set(p, t);
    const d = new Date(t);
    fs.utimesSync(p, new Date(t + randBetween(0, 20) * DAY_MS), d);
  };
  for (const f of [".bashrc", ".profile", ".bash_logout"]) {
    const skel = path.join("/etc/skel", f);
    if (!fs.existsSync(skel) || fs.existsSync(path.join(home, f))) continue;
    fs.copyFileSync(skel, path.join(home, f));
    fs.chmodSync(path.join(home, f), 0o644);
    own(path.join(home, f));
    setTime(path.join(home, f), accountMade);
  }
  const planted: CanaryFile[] = [];
  const dirs = new Set<string>();
  const timeOfDir = new Map<string, number>();
  for (const rel of unique) {
    const hostPath = path.join(home, rel);
    const parts = rel.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const d = path.join(home, ...parts.slice(0, i));
      if (!fs.existsSync(d)) {
        fs.mkdirSync(d, { mode: dirMode(parts[i - 1]) });
        fs.chmodSync(d, dirMode(parts[i - 1]));
        own(d);
      }
      dirs.add(d);
    }
    const kind = kindOf(rel);
    const write = (file: string, text: string, mode: number, t: number) => {
      fs.writeFileSync(file, text, { mode });
      fs.chmodSync(file, mode);
      own(file);
      setTime(file, t);
    };
    // Files of one directory arrived together (`aws configure` writes both files at once).
    const t = timeOfDir.get(path.dirname(hostPath)) ?? randBetween(accountMade + 30 * DAY_MS, now - 30 * DAY_MS);
    timeOfDir.set(path.dirname(hostPath), t);
    if (kind === "ssh-key") {
      const key = openSshEd25519(`${o.user ?? "agent"}@${o.hostname ?? "localhost"}`);
      write(hostPath, key.privateKey, FILE_MODE, t);
      if (!unique.includes(`${rel}.pub`)) write(`${hostPath}.pub`, key.publicKey, 0o644, t);
    } else write(hostPath, canaryContent(kind, endpoint), FILE_MODE, t);
    planted.push({ rel, hostPath, kind });
  }
  // A directory's mtime is when its newest entry arrived — deepest first, then the home itself.
  for (const d of [...dirs, home].sort((a, b) => b.length - a.length)) {
    const newest = Math.max(accountMade, ...fs.readdirSync(d).map((e) => mtimes.get(path.join(d, e)) ?? 0));
    setTime(d, newest);
  }
  return planted;
}

export interface CanaryTouch {
  file: string;
  events: string;
}

export interface CanaryWatcher {
  process: ProcessRef;
  stop(): void;
}

// The watcher: one python3 process per owner, one inotify instance, watches added and removed on
// request. Protocol, one line each: in  "add\t<token>\t<hex path>" | "rm\t<wd>"
//                                  out "ready" | "added\t<token>\t<wd>" | "error\t<token>\t<why>" |
//                                      "event\t<wd>\t<NAME,NAME>" (wd -1: the event queue overflowed)
// It exits when its stdin closes, and dies with the owner (PR_SET_PDEATHSIG).
const WATCHER = String.raw`
import ctypes, os, select, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
def out(*f): os.write(1, ("\t".join(map(str, f)) + "\n").encode())
fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
if fd < 0:
    out("fatal", os.strerror(ctypes.get_errno())); sys.exit(1)
MASK = 0x1 | 0x2 | 0x4 | 0x20 | 0x400 | 0x800
NAMES = [(0x1, "ACCESS"), (0x2, "MODIFY"), (0x4, "ATTRIB"), (0x20, "OPEN"), (0x400, "DELETE_SELF"), (0x800, "MOVE_SELF"), (0x4000, "Q_OVERFLOW"), (0x8000, "IGNORED")]
out("ready")
pending = b""
while True:
    ready, _, _ = select.select([0, fd], [], [])
    if fd in ready:
        try: data = os.read(fd, 65536)
        except BlockingIOError: data = b""
        i = 0
        while i + 16 <= len(data):
            wd, mask, _, n = struct.unpack_from("iIII", data, i); i += 16 + n
            out("event", wd, ",".join(name for bit, name in NAMES if mask & bit) or hex(mask))
    if 0 in ready:
        chunk = os.read(0, 65536)
        if not chunk: sys.exit(0)
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            f = line.decode().split("\t")
            if f[0] == "add":
                wd = libc.inotify_add_watch(fd, bytes.fromhex(f[2]), MASK)
                if wd >= 0: out("added", f[1], wd)
                else: out("error", f[1], os.strerror(ctypes.get_errno()))
            elif f[0] == "rm":
                libc.inotify_rm_watch(fd, int(f[1]))
`;

export const WATCHER_PROCESS_NAME = "airlock-canary-watch";

/**
 * The host cap behind an inotify failure, named: root's inotify instances (inotify_init1: EMFILE,
 * "Too many open files") or watches (inotify_add_watch: ENOSPC) are per-user kernel limits shared with
 * every other root program, so a create that meets one fails at once with the sysctl to raise.
 */
export function inotifyCapError(what: "instances" | "watches", strerror: string): Error {
  const sysctl = what === "instances" ? "fs.inotify.max_user_instances" : "fs.inotify.max_user_watches";
  const capped = what === "instances" ? /too many open files/i.test(strerror) : /no space left/i.test(strerror);
  if (!capped) return new Error(`the canary watcher cannot use inotify: ${strerror}`);
  let limit = "?";
  try {
    limit = fs.readFileSync(`/proc/sys/${sysctl.replace(/\./g, "/")}`, "utf8").trim();
  } catch {
    /* unreadable: the name is enough */
  }
  return Object.assign(new Error(`host cap reached: ${sysctl} (${limit}) — root has no inotify ${what} left for this owner's canary watcher (${strerror})`), {
    cap: sysctl,
    hint: `raise it (sysctl -w ${sysctl}=<more>), or stop other root programs holding inotify ${what}; one watcher serves every sandbox of an owner`,
  });
}

interface Registration {
  onTouch: (t: CanaryTouch) => void;
  onExit: (why: string) => void;
  wds: number[];
}

/** The owner's one watcher process; it lives while some sandbox of this process has canaries. */
class WatcherHub {
  private static current: WatcherHub | undefined;
  readonly ref: ProcessRef;
  readonly ready: Promise<void>;
  private readonly child: ChildProcess;
  private readonly byWd = new Map<number, { reg: Registration; rel: string }>();
  private readonly adds = new Map<string, { resolve: (wd: number) => void; reject: (e: Error) => void }>();
  private readonly regs = new Set<Registration>();
  private nextToken = 0;
  private exited: string | undefined;

  static acquire(): WatcherHub {
    if (!WatcherHub.current || WatcherHub.current.exited) WatcherHub.current = new WatcherHub();
    return WatcherHub.current;
  }

  private constructor() {
    const tools = ["setpriv", "bash"].map((t) => {
      const p = findTool(t);
      if (!p) throw new HostToolMissing(t);
      return p;
    });
    const python = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : findTool("python3");
    if (!python) throw new HostToolMissing("python3");
    this.child = spawn(tools[0], ["--pdeathsig", "KILL", "--", tools[1], "-c", 'exec -a "$0" "$@"', WATCHER_PROCESS_NAME, python, "-c", WATCHER], { stdio: ["pipe", "pipe", "pipe"] });
    this.ref = refOf(this.child.pid!) ?? { pid: this.child.pid!, startTime: 0 };
    this.child.stdin!.on("error", () => undefined);
    let stderr = "";
    this.child.stderr!.on("data", (d) => (stderr = (stderr + d).slice(-2000)));
    this.ready = new Promise((resolve, reject) => {
      let buffered = "";
      this.child.stdout!.on("data", (d: Buffer) => {
        buffered += d.toString();
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const f = buffered.slice(0, nl).split("\t");
          buffered = buffered.slice(nl + 1);
          if (f[0] === "ready") resolve();
          else if (f[0] === "fatal") reject(inotifyCapError("instances", f[1]));
          else this.onLine(f);
        }
      });
      this.child.on("exit", (code, signal) => {
        this.exited = `canary watcher exited (${code ?? signal})${stderr.trim() ? `: ${stderr.trim().split("\n").pop()}` : ""}`;
        reject(new Error(this.exited));
        for (const a of this.adds.values()) a.reject(new Error(this.exited));
        this.adds.clear();
        for (const r of this.regs) r.onExit(this.exited);
        this.regs.clear();
      });
    });
    this.ready.catch(() => undefined);
  }

  private onLine(f: string[]): void {
    if (f[0] === "added" || f[0] === "error") {
      const a = this.adds.get(f[1]);
      this.adds.delete(f[1]);
      if (f[0] === "added") a?.resolve(Number(f[2]));
      else a?.reject(inotifyCapError("watches", f[2]));
      return;
    }
    if (f[0] !== "event") return;
    const wd = Number(f[1]);
    const events = f[2];
    if (wd === -1) {
      // Events were lost: every watched canary may have been touched.
      for (const r of this.regs) r.onTouch({ file: "(inotify queue overflowed)", events });
      return;
    }
    const w = this.byWd.get(wd);
    if (!w) return;
    if (events !== "IGNORED") w.reg.onTouch({ file: w.rel, events: events.replace(/,?IGNORED/, "") });
    if (/IGNORED/.test(events)) this.byWd.delete(wd); // the inode is gone; the kernel dropped the watch
  }

  /** Keeps the watcher alive for `reg` without watching anything (see prepareCanaryWatcher). */
  hold(reg: Registration): void {
    this.regs.add(reg);
  }

  async watch(files: CanaryFile[], reg: Registration): Promise<void> {
    this.regs.add(reg);
    await this.ready;
    for (const f of files) {
      const token = String(this.nextToken++);
      const wd = await new Promise<number>((resolve, reject) => {
        this.adds.set(token, { resolve, reject });
        this.child.stdin!.write(`add\t${token}\t${Buffer.from(f.hostPath).toString("hex")}\n`);
      });
      reg.wds.push(wd);
      this.byWd.set(wd, { reg, rel: f.rel });
    }
  }

  release(reg: Registration): void {
    if (!this.regs.delete(reg)) return;
    for (const wd of reg.wds) {
      if (this.byWd.get(wd)?.reg === reg) this.byWd.delete(wd);
      if (!this.exited) this.child.stdin!.write(`rm\t${wd}\n`);
    }
    if (this.regs.size === 0 && !this.exited) {
      this.exited = "stopped";
      this.child.kill("SIGKILL");
      if (WatcherHub.current === this) WatcherHub.current = undefined;
    }
  }
}

/**
 * Starts (or keeps) the owner's watcher while a sandbox is being built, so that python's startup
 * overlaps with the rest of the creation instead of adding to it. Call the returned function once the
 * sandbox's watches are in place (or its creation failed).
 */
export function prepareCanaryWatcher(): () => void {
  const hub = WatcherHub.acquire();
  const reg: Registration = { onTouch: () => undefined, onExit: () => undefined, wds: [] };
  hub.hold(reg);
  return () => hub.release(reg);
}

/**
 * Watches the canary files; resolves once inotify's watches are in place (so nothing the workload
 * does afterwards can be missed). `onTouch` is called for every event. The files are watched by the
 * owner's one watcher process (shared with its other sandboxes), which dies with this process: a
 * guard never outlives its sandbox's owner. `process` is that shared watcher: it is not the sandbox's
 * to kill — `stop()` removes this sandbox's watches (and ends the watcher after the last sandbox).
 */
export async function watchCanaries(files: CanaryFile[], onTouch: (t: CanaryTouch) => void, onExit: (why: string) => void): Promise<CanaryWatcher> {
  if (files.length > MAX_CANARY_FILES) throw new Error(`at most ${MAX_CANARY_FILES} canary files per sandbox`);
  const hub = WatcherHub.acquire();
  let stopped = false;
  const reg: Registration = { onTouch: (t) => !stopped && onTouch(t), onExit: (why) => !stopped && onExit(why), wds: [] };
  try {
    await hub.watch(files, reg);
  } catch (e) {
    hub.release(reg);
    const { cap, hint } = e as { cap?: string; hint?: string };
    throw Object.assign(new Error(`could not watch the canaries: ${(e as Error).message}`), cap ? { cap, hint } : {});
  }
  return {
    process: hub.ref,
    stop() {
      stopped = true;
      hub.release(reg);
    },
  };
}

export interface CanaryEndpoint {
  port: number;
  close(): Promise<void>;
}

/**
 * The endpoint the fake credentials point at, listening on the gate address. Any connection is a use
 * of a canary credential: the first bytes of the request are handed to `onUse` (they normally show
 * the fake key id), the client gets a 403, and the connection is closed. `port` 0: any free port (the
 * in-guest guard uses a fixed loopback port, so a restarted guard serves the files it planted).
 */
export function startCanaryEndpoint(address: string, onUse: (from: string, request: string) => void, port = 0): Promise<CanaryEndpoint> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => undefined);
    let request = "";
    let reported = false;
    const report = () => {
      if (reported) return;
      reported = true;
      onUse(`${sock.remoteAddress}:${sock.remotePort}`, request.slice(0, 2048));
      sock.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    };
    sock.on("data", (d) => {
      request += d.toString("latin1");
      if (request.includes("\r\n\r\n") || request.length > 2048) report();
    });
    sock.setTimeout(1000, report);
    sock.on("end", report);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, address, () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        port,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
