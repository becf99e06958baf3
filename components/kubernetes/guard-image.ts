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
//   node bin/run-ts.js components/kubernetes/guard-image.ts <out.tar> [--keep-rootfs <dir>]
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

/** Node and what it links (ldd), at their own paths. */
function nodeAndLibraries(): { from: string; to: string }[] {
  const node = fs.realpathSync(process.execPath);
  const libs = execFileSync("ldd", [node], { encoding: "utf8" })
    .split("\n")
    .map((l) => /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(l)?.[1])
    .filter((x): x is string => !!x);
  return [{ from: node, to: IMAGE_NODE }, ...libs.flatMap((l) => [{ from: fs.realpathSync(l), to: l }])];
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
}

export function buildGuardImage(out: string, opts: { keepRootfs?: string } = {}): BuiltImage {
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
    for (const { from, to } of nodeAndLibraries()) copy(from, to, rootfs);
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
      config: { Entrypoint: [IMAGE_NODE, entry], Cmd: ["guard", "--kubernetes", "--rules", "/etc/airlock/rules.json"], User: `${SYSTEM_UID}:${SYSTEM_UID}`, Env: ["NODE_ENV=production"], WorkingDir: IMAGE_APP_DIR },
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
    return { digest: manifest.digest, archive: path.resolve(out), layerBytes, files };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// Run directly (node) or through bin/run-ts.js (which makes itself the main module).
if (require.main === module || process.argv[1] === __filename) {
  const [out, flag, keep] = process.argv.slice(2);
  if (!out) {
    process.stderr.write("usage: components/kubernetes/guard-image.ts <out.tar> [--keep-rootfs <dir>]\n");
    process.exit(2);
  }
  const img = buildGuardImage(out, { keepRootfs: flag === "--keep-rootfs" ? keep : undefined });
  process.stderr.write(`guard image: ${img.archive} (${img.files} files, layer ${(img.layerBytes / 2 ** 20).toFixed(1)} MiB)\n`);
  process.stdout.write(`${img.digest}\n`);
}
