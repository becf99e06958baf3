// The curated /etc of a local sandbox, for real (bwrap, the sandbox tmpfs): the workload and a target
// see exactly the listed host entries plus the generated files — no other host file — with the host
// entries' content, owners and modes as on the host, and cannot change any of it. The list is written
// here, not taken from the code under test: a host entry added to (or lost from) the code's list, or a
// writable /etc, fails this file.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { HostSandbox } from "../components/local/sandbox";
import { SandboxPool, localSpec, execCapture, waitFor } from "./helpers/local-sandbox";

/** Host /etc entries a sandbox may see (when the host has them), and the files generated per sandbox. */
const HOST_ENTRIES = [
  "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "ssl", "ca-certificates", "ca-certificates.conf",
  "localtime", "timezone", "protocols", "services", "mime.types", "host.conf", "gai.conf", "profile", "bash.bashrc",
  "inputrc", "debian_version", "os-release",
];
const GENERATED = ["passwd", "group", "hosts", "resolv.conf", "nsswitch.conf", "hostname"];
/** The Python configuration directories (python3, python3.11, ...) this host has. */
const pythonDirs = () => fs.readdirSync("/etc").filter((e) => /^python3(\.\d+)?$/.test(e));
const expectedHostEntries = () => [...HOST_ENTRIES.filter((e) => fs.existsSync(`/etc/${e}`)), ...pythonDirs()].sort();

const EROFS = 30;

/**
 * Walks the named /etc entries (each top-level one as what it points to, as a bind mount shows it;
 * links below stay links): type, mode, owner, content hash or link target, or the errno that stopped
 * it. Run inside the sandbox and, for comparison, on the host as the same uid.
 */
const WALK = String.raw`
import hashlib, json, os, stat, sys
def walk(p, top):
    try: st = os.stat(p) if top else os.lstat(p)
    except OSError as e: return {"error": e.errno}
    d = {"mode": oct(st.st_mode & 0o7777), "uid": st.st_uid, "gid": st.st_gid}
    if stat.S_ISLNK(st.st_mode): d["link"] = os.readlink(p)
    elif stat.S_ISDIR(st.st_mode):
        try: d["dir"] = {e: walk(os.path.join(p, e), False) for e in sorted(os.listdir(p))}
        except OSError as e: d["listError"] = e.errno
    elif stat.S_ISREG(st.st_mode):
        try: d["sha256"] = hashlib.sha256(open(p, "rb").read()).hexdigest()
        except OSError as e: d["readError"] = e.errno
    else: d["kind"] = "other"
    return d
def tree(names): return {n: walk(os.path.join("/etc", n), True) for n in names}
`;

/** Inside: the listing, the tree, the mounts at or below /etc, attempts to change it, and what is absent. */
const PROBE = String.raw`
def attempt(f):
    try: f(); return 0
    except OSError as e: return e.errno
def opened(p, flags):
    os.close(os.open(p, flags, 0o644))
names, marker, work = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
mounts = [l.split()[4] + " " + l.split()[5] for l in open("/proc/self/mountinfo") if l.split()[4] == "/etc" or l.split()[4].startswith("/etc/")]
writes = {
    "create /etc/probe-new": attempt(lambda: opened("/etc/probe-new", os.O_WRONLY | os.O_CREAT)),
    "append to /etc/passwd": attempt(lambda: opened("/etc/passwd", os.O_WRONLY | os.O_APPEND)),
    "write /etc/ld.so.cache": attempt(lambda: opened("/etc/ld.so.cache", os.O_WRONLY)),
    "mkdir /etc/ssl/probe-dir": attempt(lambda: os.mkdir("/etc/ssl/probe-dir")),
    "unlink /etc/hosts": attempt(lambda: os.unlink("/etc/hosts")),
    "rename /etc/hostname": attempt(lambda: os.rename("/etc/hostname", "/etc/hostname.moved")),
    "chmod /etc/passwd": attempt(lambda: os.chmod("/etc/passwd", 0o666)),
    "symlink in /etc": attempt(lambda: os.symlink("/tmp", "/etc/probe-link")),
}
control = attempt(lambda: opened(os.path.join(work, "probe-new"), os.O_WRONLY | os.O_CREAT))
absent = {p: os.path.lexists(p) for p in ["/etc/" + marker, "/etc/machine-id", "/etc/shadow", "/etc/fstab", "/etc/sudoers"]}
generated = {f: open("/etc/" + f).read() for f in ["hostname", "passwd", "hosts"]}
result = ({"uid": os.getuid(), "gid": os.getgid(), "entries": sorted(os.listdir("/etc")), "links": [e for e in sorted(os.listdir("/etc")) if os.path.islink("/etc/" + e)], "tree": tree(names), "mounts": mounts, "writes": writes, "control": control, "present": absent, "generated": generated})
`;

interface Probe {
  uid: number;
  gid: number;
  entries: string[];
  links: string[];
  tree: Record<string, unknown>;
  mounts: string[];
  writes: Record<string, number>;
  control: number;
  present: Record<string, boolean>;
  generated: Record<string, string>;
}

/** The same walk on the host, as the given ids (so that what the permissions hide is hidden alike). */
function hostTree(uid: number, gid: number, names: string[]): Record<string, unknown> {
  const r = spawnSync("setpriv", [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "/usr/bin/python3", "-c", WALK + "\nprint(json.dumps(tree(sys.argv[1].split(','))))", names.join(",")], { encoding: "utf8" });
  assert.strictEqual(r.status, 0, `host walk: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function checkView(p: Probe, what: string, host: { marker: string; hostname: string; passwdLine: string }) {
  const hostEntries = expectedHostEntries();
  assert.deepStrictEqual(p.entries, [...hostEntries, ...GENERATED].sort(), `${what}: /etc holds other entries than the curated ones`);
  // No entry is itself a link (a host symlink such as localtime was bound as the file it names).
  assert.deepStrictEqual(p.links, [], `${what}: /etc entries that are symlinks`);
  // Same content, owners and modes as the host's files, entry by entry and all the way down.
  assert.deepStrictEqual(p.tree, hostTree(p.uid, p.gid, hostEntries), `${what}: a curated entry differs from the host's`);
  // One read-only mount for all of /etc (no per-file binds left below it).
  assert.deepStrictEqual(p.mounts.map((m) => m.split(" ")[0]), ["/etc"], `${what}: mounts at /etc: ${p.mounts.join("; ")}`);
  assert.ok(p.mounts[0].split(" ")[1].split(",").includes("ro"), `${what}: /etc is not a read-only mount: ${p.mounts[0]}`);
  for (const [attempt, errno] of Object.entries(p.writes)) assert.notStrictEqual(errno, 0, `${what}: could ${attempt}`);
  // (A plain uid meets the permission check first, EACCES; past it the mount refuses, EROFS.)
  assert.ok(Object.values(p.writes).some((e) => e === EROFS) || Object.values(p.writes).every((e) => e === 13), `${what}: unexpected errnos ${JSON.stringify(p.writes)}`);
  assert.strictEqual(p.control, 0, `${what}: positive control: its work dir was not writable either`);
  assert.deepStrictEqual(p.present, { [`/etc/${host.marker}`]: false, "/etc/machine-id": false, "/etc/shadow": false, "/etc/fstab": false, "/etc/sudoers": false }, `${what}: a host file off the list is visible`);
  assert.strictEqual(p.generated.hostname, `${host.hostname}\n`, `${what}: /etc/hostname`);
  assert.ok(p.generated.passwd.split("\n").includes(host.passwdLine), `${what}: /etc/passwd has no line '${host.passwdLine}': ${p.generated.passwd}`);
  assert.strictEqual(p.generated.hosts.split("\n")[0], "127.0.0.1\tlocalhost", `${what}: /etc/hosts`);
}

describe("local sandbox: the curated /etc (one read-only directory, exactly the listed entries)", function () {
  this.timeout(60_000);
  const pool = new SandboxPool();
  const marker = `etc-view-probe-${process.pid}`;
  let sb: HostSandbox;

  before(async function () {
    this.timeout(120_000);
    // A host file that is not on the list: present on the host (the positive control), absent inside.
    fs.writeFileSync(`/etc/${marker}`, "host only\n", { mode: 0o644 });
    // The target probes its own view at start (written whole, then renamed), then serves its port.
    const targetProbe = WALK + PROBE + "open('/work/etc-probe.tmp', 'w').write(json.dumps(result)); os.rename('/work/etc-probe.tmp', '/work/etc-probe.json')\nimport http.server\nhttp.server.ThreadingHTTPServer(('0.0.0.0', int(os.environ['PORT'])), http.server.SimpleHTTPRequestHandler).serve_forever()\n";
    sb = await pool.create(
      localSpec({
        name: "etcv",
        workload: { user: "agent" },
        targets: [{ name: "web", command: ["python3", "-c", targetProbe, [...expectedHostEntries()].join(","), marker, "/work"], port: 8080 }],
        egress: { allow: [{ name: "web", via: "target", target: "web", port: 8080 }] },
      }),
    );
  });

  after(async function () {
    this.timeout(60_000);
    fs.rmSync(`/etc/${marker}`, { force: true });
    await pool.destroyAll();
  });

  it("the workload: exactly the curated entries, the host's content, one read-only mount, no host file off the list", async () => {
    assert.ok(fs.existsSync(`/etc/${marker}`) && fs.existsSync("/etc/passwd"), "positive control: the host has the marker");
    const r = await execCapture(sb.id, ["python3", "-c", WALK + PROBE + "print(json.dumps(result))", expectedHostEntries().join(","), marker, "/work"]);
    assert.strictEqual(r.status, 0, r.stderr);
    const p: Probe = JSON.parse(r.stdout);
    const u = sb.handle.workloadUser!;
    assert.strictEqual(p.uid, u.uid);
    checkView(p, "workload", { marker, hostname: "etcv", passwdLine: `agent:x:${u.uid}:${u.gid}::/home/agent:/bin/sh` });
    // Nothing of the attempts reached the files on the host side either.
    const etc = path.join(sb.handle.fsRoot!, "etc", "workload");
    assert.ok(!fs.existsSync(path.join(etc, "probe-new")) && fs.existsSync(path.join(etc, "hosts")) && (fs.statSync(path.join(etc, "passwd")).mode & 0o777) === 0o644);
  });

  it("a target: the same curated list with its own generated files, read-only", async () => {
    const file = path.join(sb.handle.fsRoot!, "svc-web", "work", "etc-probe.json");
    await waitFor("the target's /etc probe", () => fs.existsSync(file), 20_000);
    const p: Probe = JSON.parse(fs.readFileSync(file, "utf8"));
    assert.strictEqual(p.uid, sb.handle.services!.uid);
    checkView(p, "target", { marker, hostname: "service", passwdLine: `service:x:${p.uid}:${p.uid}::/work:/bin/sh` });
  });
});
