// Builds the Kubernetes guard's container image as an OCI image layout (a tarball `skopeo copy
// oci-archive:<file> docker://<registry>/...`, `crane push` or `oras` can push) without Docker or any
// daemon: one layer holding this host's Node binary and the shared libraries it links, and the
// compiled guard program with exactly the modules it loads (components/kubernetes/guard-program.ts).
// Why by hand and not a tool: the layout is four small JSON documents and two deterministic tars;
// the well-kept daemonless builders (buildah, kaniko, ko, apko) either need a container runtime or
// build only Go/apk content, and none is on this host.
//
// Reproducible: sorted entries, mtime 0, uid/gid 0, gzip without a name or time, so the same Node
// binary and the same dist/ give the same digest. It prints `sha256:<manifest digest>`: the stack's
// images.guard is `<repository>@sha256:<that>` (cluster.ts refuses a tag).
//
// What it was built from is stated in the image and checked, rather than pinned. Decided so because
// pinning Node alone would not pin the image: Node links this host's glibc, libstdc++ and libgcc; an
// official Node tarball cannot be downloaded here (no download site) and still links the host's
// libraries; and Debian's archive drops superseded library versions, so pinned .debs would stop being
// fetchable. So the image config's labels name every input — Node's version, and for Node and each
// library its path, sha256 and Debian package — and the program closure's hash (BUILT_FROM_LABEL,
// content only: no time, no commit, so the digest stays reproducible). `--verify <tar>` checks an
// image's files against its labels (a layer that does not match what it says it was built from is
// refused); `--check <image.tar>` rebuilds it here and, when the digest differs, names the inputs that do.
//
//   node bin/run-ts.js components/kubernetes/guard-image.ts <out.tar> [--keep-rootfs <dir>]
//   node bin/run-ts.js components/kubernetes/guard-image.ts --verify <image.tar>
//   node bin/run-ts.js components/kubernetes/guard-image.ts --check <image.tar>
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync, spawnSync } from "child_process";

import { SYSTEM_UID } from "./context";

const ROOT = path.join(__dirname, "..", "..");
export const GUARD_ENTRY = "components/kubernetes/guard-program.ts";
/** Where the program lives in the image, and the uid it runs as (the pod sets runAsUser too). */
export const IMAGE_APP_DIR = "/opt/airlock";
export const IMAGE_NODE = "/usr/local/bin/node";

const sha256 = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
const sha256Of = (data: string | Buffer) => crypto.createHash("sha256").update(data).digest("hex");

/** The files the guard program loads, from a fresh Node that requires its compiled entry. */
function programClosure(): string[] {
  const entry = path.join(ROOT, "dist", GUARD_ENTRY.replace(/\.ts$/, ".js"));
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: run node bin/build-dist.js first`);
  const probe = `require(${JSON.stringify(entry)}); process.stdout.write(JSON.stringify(Object.keys(require.cache)))`;
  const r = spawnSync(process.execPath, ["-e", probe], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`loading the guard program failed: ${r.stderr}`);
  const files = (JSON.parse(r.stdout) as string[]).filter((f) => f.startsWith(ROOT + path.sep));
  const outside = files.filter((f) => !f.startsWith(path.join(ROOT, "dist")) && !f.includes(`${path.sep}node_modules${path.sep}`));
  if (outside.length) throw new Error(`the guard program loads sources outside dist/: ${outside.join(", ")}`);
  return files;
}

/** A package's directory under node_modules for one of its files (scoped names included). */
function packageDir(file: string): string {
  const parts = path.relative(ROOT, file).split(path.sep);
  const i = parts.lastIndexOf("node_modules");
  return path.join(ROOT, ...parts.slice(0, i + (parts[i + 1].startsWith("@") ? 3 : 2)));
}

/** The config label holding BuiltFrom (JSON). */
export const BUILT_FROM_LABEL = "dev.airlock.guard.built-from";

/** One native input of the image: where it is in the image, its bytes' hash, where it came from. */
export interface NativeInput {
  path: string;
  sha256: string;
  /** The Debian package that owns the host file (`<name>:<arch> <version>`), when dpkg knows it. */
  package?: string;
}

/** What an image was built from, as its labels state it. */
export interface BuiltFrom {
  /** `node --version` of the binary in the image. */
  node: string;
  /** Node first, then each library it links, at their image paths. */
  native: NativeInput[];
  /** sha256 over the sorted `<sha256>  <path>` lines of every file under IMAGE_APP_DIR. */
  program: string;
}

/** The Debian package owning `file` on this host (`name:arch version`), or undefined. */
function debianPackageOf(file: string): string | undefined {
  const owner = spawnSync("dpkg", ["-S", file], { encoding: "utf8" });
  const pkg = owner.status === 0 ? owner.stdout.split(":")[0] + (owner.stdout.match(/^[^:]+(:[a-z0-9]+):/)?.[1] ?? "") : undefined;
  if (!pkg) return undefined;
  const v = spawnSync("dpkg-query", ["-W", "-f=${Version}", pkg], { encoding: "utf8" });
  return v.status === 0 && v.stdout ? `${pkg} ${v.stdout.trim()}` : pkg;
}

/** Node and what it links (ldd), at their own paths. */
function nodeAndLibraries(nodeBinary: string): { from: string; to: string; host: string }[] {
  const node = fs.realpathSync(nodeBinary);
  const libs = execFileSync("ldd", [node], { encoding: "utf8" })
    .split("\n")
    .map((l) => /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(l)?.[1])
    .filter((x): x is string => !!x);
  return [{ from: node, to: IMAGE_NODE, host: nodeBinary }, ...libs.flatMap((l) => [{ from: fs.realpathSync(l), to: l, host: l }])];
}

/** Every file under `dir` (relative paths, sorted). */
function filesUnder(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...filesUnder(dir, r));
    else out.push(r);
  }
  return out;
}

/** The program closure's hash from an image root (BuiltFrom.program). */
export function programHash(rootfs: string): string {
  const app = path.join(rootfs, IMAGE_APP_DIR);
  return sha256Of(filesUnder(app).map((f) => `${sha256(path.join(app, f))}  ${f}\n`).join(""));
}

/**
 * What is wrong between an image root and what its labels say it was built from: a native input
 * missing or with other bytes, a program other than the one hashed, or a file that is neither (the
 * labels must account for every file). Empty: the root is what the labels state.
 */
export function verifyRootfs(rootfs: string, built: BuiltFrom): string[] {
  const problems: string[] = [];
  const listed = new Set(built.native.map((n) => n.path.replace(/^\//, "")));
  for (const n of built.native) {
    const f = path.join(rootfs, n.path);
    if (!fs.existsSync(f)) problems.push(`${n.path}: listed (${n.package ?? "no package"}) but not in the image`);
    else if (sha256(f) !== n.sha256) problems.push(`${n.path}: sha256 ${sha256(f)}, the labels say ${n.sha256}${n.package ? ` (${n.package})` : ""}`);
  }
  const program = programHash(rootfs);
  if (program !== built.program) problems.push(`${IMAGE_APP_DIR}: program hash ${program}, the labels say ${built.program}`);
  const app = IMAGE_APP_DIR.replace(/^\//, "") + path.sep;
  for (const f of filesUnder(rootfs)) if (!listed.has(f) && !f.startsWith(app)) problems.push(`/${f}: in the image but not among what it was built from`);
  return problems;
}

/** The inputs in which two builds differ (for --check: why a rebuild here gives another digest). */
export function differences(image: BuiltFrom, here: BuiltFrom): string[] {
  const out: string[] = [];
  if (image.node !== here.node) out.push(`Node ${image.node} in the image, ${here.node} here`);
  const byPath = new Map(here.native.map((n) => [n.path, n]));
  for (const n of image.native) {
    const h = byPath.get(n.path);
    if (!h) out.push(`${n.path} (${n.package ?? "no package"}) is in the image, not linked here`);
    else if (h.sha256 !== n.sha256) out.push(`${n.path}: ${n.package ?? "?"} ${n.sha256.slice(0, 12)} in the image, ${h.package ?? "?"} ${h.sha256.slice(0, 12)} here`);
    byPath.delete(n.path);
  }
  for (const h of byPath.values()) out.push(`${h.path} (${h.package ?? "no package"}) is linked here, not in the image`);
  if (image.program !== here.program) out.push(`the guard program (dist/ closure) differs: ${image.program.slice(0, 12)} in the image, ${here.program.slice(0, 12)} here`);
  return out;
}

function copy(from: string, toInRoot: string, rootfs: string) {
  const dest = path.join(rootfs, toInRoot);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.cpSync(from, dest, { recursive: true, dereference: true });
}

/** A tar of `dir`'s contents with nothing of this host in it but the files (GNU tar). */
function deterministicTar(dir: string, out: string) {
  execFileSync("tar", ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "--format=gnu", "-cf", out, "-C", dir, "."]);
}

export interface BuiltImage {
  /** sha256:<hex> of the manifest: what images.guard pins. */
  digest: string;
  archive: string;
  layerBytes: number;
  files: number;
  builtFrom: BuiltFrom;
}

/** `nodeBinary`: the Node put in the image (default: the one running this build). */
export function buildGuardImage(out: string, opts: { keepRootfs?: string; nodeBinary?: string } = {}): BuiltImage {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-guard-image-"));
  try {
    const rootfs = opts.keepRootfs ?? path.join(work, "rootfs");
    fs.rmSync(rootfs, { recursive: true, force: true });
    fs.mkdirSync(rootfs, { recursive: true });
    const closure = programClosure();
    const packages = new Set<string>();
    for (const f of closure) {
      if (f.includes(`${path.sep}node_modules${path.sep}`)) packages.add(packageDir(f));
      else copy(f, path.join(IMAGE_APP_DIR, path.relative(ROOT, f)), rootfs);
    }
    for (const p of packages) copy(p, path.join(IMAGE_APP_DIR, path.relative(ROOT, p)), rootfs);
    const nodeBinary = opts.nodeBinary ?? process.execPath;
    const native: NativeInput[] = [];
    for (const { from, to, host } of nodeAndLibraries(nodeBinary)) {
      copy(from, to, rootfs);
      const pkg = debianPackageOf(host) ?? (host === from ? undefined : debianPackageOf(from));
      native.push({ path: to, sha256: sha256(from), ...(pkg ? { package: pkg } : {}) });
    }
    const nodeVersion = execFileSync(nodeBinary, ["--version"], { encoding: "utf8" }).trim();
    const builtFrom: BuiltFrom = { node: nodeVersion, native, program: programHash(rootfs) };
    // The guard's uid (killswitch.ts runs it as the system uid) needs no passwd entry; /tmp for Node.
    fs.mkdirSync(path.join(rootfs, "tmp"), { recursive: true });
    fs.chmodSync(path.join(rootfs, "tmp"), 0o1777);

    const layout = path.join(work, "layout");
    const blobs = path.join(layout, "blobs", "sha256");
    fs.mkdirSync(blobs, { recursive: true });
    const layerTar = path.join(work, "layer.tar");
    deterministicTar(rootfs, layerTar);
    const diffId = sha256(layerTar);
    execFileSync("gzip", ["-n", "-6", layerTar]);
    const layerGz = `${layerTar}.gz`;
    const layerDigest = sha256(layerGz);
    const layerBytes = fs.statSync(layerGz).size;
    fs.renameSync(layerGz, path.join(blobs, layerDigest));

    const blob = (doc: unknown) => {
      const text = JSON.stringify(doc);
      const digest = sha256Of(text);
      fs.writeFileSync(path.join(blobs, digest), text);
      return { digest: `sha256:${digest}`, size: Buffer.byteLength(text) };
    };
    const entry = path.join(IMAGE_APP_DIR, "dist", GUARD_ENTRY.replace(/\.ts$/, ".js"));
    const config = blob({
      architecture: os.arch() === "x64" ? "amd64" : os.arch(),
      os: "linux",
      config: {
        Entrypoint: [IMAGE_NODE, entry],
        Cmd: ["guard", "--kubernetes", "--rules", "/etc/airlock/rules.json"],
        User: `${SYSTEM_UID}:${SYSTEM_UID}`,
        Env: ["NODE_ENV=production"],
        WorkingDir: IMAGE_APP_DIR,
        Labels: { [BUILT_FROM_LABEL]: JSON.stringify(builtFrom), "dev.airlock.guard.node": nodeVersion },
      },
      rootfs: { type: "layers", diff_ids: [`sha256:${diffId}`] },
      history: [{ created: "1970-01-01T00:00:00Z", created_by: "components/kubernetes/guard-image.ts" }],
    });
    const manifest = blob({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: `sha256:${layerDigest}`, size: layerBytes }],
    });
    fs.writeFileSync(path.join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    fs.writeFileSync(
      path.join(layout, "index.json"),
      JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest, annotations: { "org.opencontainers.image.ref.name": "airlock-guard" } }] }),
    );
    fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    deterministicTar(layout, path.resolve(out));
    const files = Number(execFileSync("sh", ["-c", `find "${rootfs}" -type f | wc -l`], { encoding: "utf8" }).trim());
    return { digest: manifest.digest, archive: path.resolve(out), layerBytes, files, builtFrom };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** An image archive's digest, what its labels say it was built from, and what of that its files contradict. */
export function verifyGuardImage(archive: string): { digest: string; builtFrom?: BuiltFrom; problems: string[] } {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-guard-verify-"));
  try {
    execFileSync("tar", ["-xf", archive, "-C", work]);
    const blob = (d: string) => path.join(work, "blobs", "sha256", d.replace(/^sha256:/, ""));
    const index = JSON.parse(fs.readFileSync(path.join(work, "index.json"), "utf8"));
    const digest: string = index.manifests[0].digest;
    const manifest = JSON.parse(fs.readFileSync(blob(digest), "utf8"));
    const config = JSON.parse(fs.readFileSync(blob(manifest.config.digest), "utf8"));
    const label = config.config?.Labels?.[BUILT_FROM_LABEL];
    if (!label) return { digest, problems: [`no ${BUILT_FROM_LABEL} label: the image does not say what it was built from`] };
    const builtFrom = JSON.parse(label) as BuiltFrom;
    const rootfs = path.join(work, "rootfs");
    fs.mkdirSync(rootfs);
    for (const l of manifest.layers) execFileSync("tar", ["-xzf", blob(l.digest), "-C", rootfs]);
    return { digest, builtFrom, problems: verifyRootfs(rootfs, builtFrom) };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// Run directly (node) or through bin/run-ts.js (which makes itself the main module).
if (require.main === module || process.argv[1] === __filename) {
  const [out, flag, keep] = process.argv.slice(2);
  if (out === "--verify" && flag) {
    const v = verifyGuardImage(flag);
    process.stderr.write(v.problems.length ? `guard image ${v.digest}: its files contradict what it says it was built from:\n  ${v.problems.join("\n  ")}\n` : `guard image ${v.digest}: built from Node ${v.builtFrom!.node} and ${v.builtFrom!.native.length - 1} libraries, as its labels say\n`);
    process.exit(v.problems.length ? 1 : 0);
  }
  if (out === "--check" && flag) {
    // Does this host rebuild the image in the archive? If not, which input differs (its labels vs this build's).
    const v = verifyGuardImage(flag);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-guard-check-"));
    let same = false;
    try {
      const here = buildGuardImage(path.join(dir, "guard.tar"));
      const diff = v.builtFrom ? differences(v.builtFrom, here.builtFrom) : ["the image states nothing to compare"];
      same = here.digest === v.digest && !v.problems.length;
      if (same) process.stderr.write(`guard image ${v.digest}: rebuilt here to the same digest\n`);
      else process.stderr.write(`guard image ${v.digest}: rebuilt here to ${here.digest}\n  ${[...v.problems, ...diff].join("\n  ")}\n`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    process.exit(same ? 0 : 1);
  }
  if (!out) {
    process.stderr.write("usage: components/kubernetes/guard-image.ts <out.tar> [--keep-rootfs <dir>] | --verify <image.tar> | --check <image.tar>\n");
    process.exit(2);
  }
  const img = buildGuardImage(out, { keepRootfs: flag === "--keep-rootfs" ? keep : undefined });
  process.stderr.write(`guard image: ${img.archive} (${img.files} files, layer ${(img.layerBytes / 2 ** 20).toFixed(1)} MiB)\n`);
  process.stdout.write(`${img.digest}\n`);
}
