// Canaries: files that look like credentials in the workload's home, and a fake credential that
// points at a canary endpoint. Nothing legitimate ever opens them, so any touch is a signal.
//
// Detection, two independent ways:
//   1. inotify on each canary file (inotifywait, Debian package inotify-tools): open, read, attribute
//      change (incl. unlink/hard link — the link count changes), move, delete, write. inotify watches
//      the inode, so an open through the sandbox's bind mount is reported like any other, within
//      milliseconds, and a listing (`ls -la ~/.aws`) or stat is *not* reported — only real use.
//      Polling atime was rejected: relatime and noatime mounts hide repeated reads, and polling adds
//      latency; inotify is event-driven and costs no CPU while nothing happens.
//   2. the canary endpoint: the fake AWS profile's endpoint_url and the fake gcloud credential's
//      token_uri point at a TCP listener on the gate address. A workload that *uses* a credential —
//      even one it read while only alerting was configured, or one copied to a file inotify does not
//      watch — connects there and is caught with the request it sent.
// The files are root-owned and read-only inside the workload's tmpfs home, so the workload cannot
// rewrite them without that being an event too.
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { spawn, ChildProcess } from "child_process";
import { findTool, HostToolMissing } from "../host/exec";
import { refOf, ProcessRef } from "../host/process";

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

/** Realistic-looking fake content; `endpoint` is the canary endpoint URL a credential points at. */
export function canaryContent(kind: CanaryFile["kind"], endpoint: string): string {
  switch (kind) {
    case "aws-credentials":
      return `[default]\naws_access_key_id = AKIA${rand(UPPER_DIGITS, 16)}\naws_secret_access_key = ${rand(B64.slice(0, 62), 40)}\n`;
    case "aws-config":
      return `[default]\nregion = us-east-1\nendpoint_url = ${endpoint}\n`;
    case "ssh-key": {
      const body = rand(B64, 280).match(/.{1,70}/g)!.join("\n");
      return `-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA${body}\n-----END OPENSSH PRIVATE KEY-----\n`;
    }
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

/**
 * Writes the canary files into the workload's home (root-owned, read-only, parents root 0755).
 * With `credential`, a fake AWS profile whose endpoint is the canary endpoint is added if the list
 * does not already hold one.
 */
export function plantCanaries(home: string, files: string[], credential: boolean, endpoint: string): CanaryFile[] {
  const rels = [...files];
  if (credential) {
    if (!rels.some((r) => kindOf(r) === "aws-credentials")) rels.push(".aws/credentials");
    if (!rels.some((r) => kindOf(r) === "aws-config")) rels.push(".aws/config");
  }
  const planted: CanaryFile[] = [];
  for (const rel of [...new Set(rels)]) {
    const problem = checkCanaryPath(rel);
    if (problem) throw new Error(problem);
    const hostPath = path.join(home, rel);
    fs.mkdirSync(path.dirname(hostPath), { recursive: true, mode: 0o755 });
    const kind = kindOf(rel);
    fs.writeFileSync(hostPath, canaryContent(kind, endpoint), { mode: 0o444 });
    fs.chmodSync(hostPath, 0o444);
    planted.push({ rel, hostPath, kind });
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

/**
 * Watches the canary files; resolves once inotify's watches are in place (so nothing the workload
 * does afterwards can be missed). `onTouch` is called for every event. The watcher dies with this
 * process (PR_SET_PDEATHSIG via setpriv): a guard never outlives its sandbox's owner.
 */
export function watchCanaries(files: CanaryFile[], onTouch: (t: CanaryTouch) => void, onExit: (why: string) => void): Promise<CanaryWatcher> {
  const bin = findTool("inotifywait");
  if (!bin) throw new HostToolMissing("inotifywait");
  const setpriv = findTool("setpriv");
  if (!setpriv) throw new HostToolMissing("setpriv");
  const byPath = new Map(files.map((f) => [f.hostPath, f.rel]));
  const child: ChildProcess = spawn(
    setpriv,
    ["--pdeathsig", "KILL", "--", bin, "-m", "-e", "open", "-e", "access", "-e", "attrib", "-e", "modify", "-e", "move_self", "-e", "delete_self", "--format", "%e\t%w", ...files.map((f) => f.hostPath)],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stopped = false;
  return new Promise((resolve, reject) => {
    let armed = false;
    let stderr = "";
    let buffered = "";
    child.stdout!.on("data", (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const [events, watched] = line.split("\t");
        if (!stopped && watched && !/^IGNORED/.test(events)) onTouch({ file: byPath.get(watched) ?? watched, events });
      }
    });
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (!armed && /Watches established/.test(stderr)) {
        armed = true;
        resolve({
          process: refOf(child.pid!) ?? { pid: child.pid!, startTime: 0 },
          stop() {
            stopped = true;
            child.kill("SIGKILL");
          },
        });
      }
    });
    child.on("exit", (code, signal) => {
      if (!armed) reject(new Error(`inotifywait could not watch the canaries (exit ${code ?? signal}): ${stderr.trim().split("\n").pop()}`));
      else if (!stopped) onExit(`canary watcher exited (${code ?? signal})`);
    });
  });
}

export interface CanaryEndpoint {
  port: number;
  close(): Promise<void>;
}

/**
 * The endpoint the fake credentials point at, listening on the gate address. Any connection is a use
 * of a canary credential: the first bytes of the request are handed to `onUse` (they normally show
 * the fake key id), the client gets a 403, and the connection is closed.
 */
export function startCanaryEndpoint(address: string, onUse: (from: string, request: string) => void): Promise<CanaryEndpoint> {
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
    server.listen(0, address, () => {
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
