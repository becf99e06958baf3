// The Kubernetes guard (components/kubernetes/guard-program.ts) and its image (guard-image.ts).
//
// kwok fakes the kubelet, so no container of the image runs inside the test cluster. What is real
// instead: the guard program runs here, out of the cluster, against the real API server with the
// token of the sandbox's own guard ServiceAccount (a TokenRequest), so the Role that binds it is the
// one that allows or refuses; the OOM kill is the kubelet's report written into the pod's status; and
// the image is built for real and its files run under chroot (the container's root) on this host.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync, spawnSync } from "child_process";
import { kubeCluster, type KubeCluster } from "./helpers/kube-cluster";
import { renderStack } from "./helpers/kube-fixtures";
import { RUN_TAG } from "./helpers/run-scope";
import { skipBecause } from "./helpers/common";
import { KubeApiError, KubeClient } from "../components/kubernetes/api";
import { deadlineAtExpiry, runGuard, type GuardConfig, type GuardEvent } from "../components/kubernetes/guard-program";
import { buildGuardImage, differences, GUARD_ENTRY, IMAGE_APP_DIR, IMAGE_NODE, verifyGuardImage, verifyRootfs } from "../components/kubernetes/guard-image";
import type { Manifest } from "../components/kubernetes/manifest";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e) {
    if (e instanceof KubeApiError) return e.status;
    throw e;
  }
}

describe("Kubernetes guard program against a real API server", function () {
  this.timeout(600_000);
  let c: KubeCluster;
  let guardClient: KubeClient;
  let objs: Manifest[];
  let ns: string;
  let config: GuardConfig;
  const pod = (name: string) => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: ns } });

  before(async function () {
    this.timeout(1_200_000);
    c = await kubeCluster();
    const r = renderStack("k8s", () => {}, { suffix: `${RUN_TAG}g` });
    await Promise.all(r.cluster.map((o) => c.client.apply(o)));
    objs = r.members[0].objects;
    ns = r.members[0].ctx.ns;
    for (const o of objs) await c.client.apply(o);
    config = JSON.parse(objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === "guard")!.data["rules.json"]);
    // The token the kubelet would mount into the guard pod: its own ServiceAccount's.
    const tr = await c.client.request("POST", `/api/v1/namespaces/${ns}/serviceaccounts/guard/token`, { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 600 } });
    guardClient = new KubeClient({ server: c.client.creds.server, ca: c.client.creds.ca, token: tr.status.token });
  });

  after(async () => {
    guardClient?.close();
    // The pod kwok was told to leave alone is removed without waiting for a kubelet, so the namespace can go.
    if (ns) await c.client.request("DELETE", `/api/v1/namespaces/${ns}/pods/workload`, { kind: "DeleteOptions", apiVersion: "v1", gracePeriodSeconds: 0 }).catch(() => undefined);
    if (ns) await c.client.delete({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }, { ignoreMissing: true });
  });

  it("its token may read the workload pod and nothing wider: not delete the gate, not read Secrets, nothing in another namespace", async () => {
    assert.strictEqual(await status(guardClient.get(pod("workload"))), 200);
    assert.strictEqual(await status(guardClient.delete(pod("gate"))), 403, "the guard deleted the gate");
    const patchGate = guardClient.request("PATCH", `/api/v1/namespaces/${ns}/pods/gate`, { spec: { activeDeadlineSeconds: 60 } }, "application/merge-patch+json");
    assert.strictEqual(await status(patchGate), 403, "the guard may patch the gate (its patch is the workload's deadline only)");
    assert.strictEqual(await status(guardClient.list("v1", "Secret", { namespace: ns })), 403, "the guard lists Secrets (the canaries)");
    assert.strictEqual(await status(guardClient.list("v1", "Pod", { namespace: "kube-system" })), 403, "the guard reads another namespace");
    assert.ok(await c.client.exists(pod("gate")));
  });

  it("deletes the workload pod when the kubelet reports it OOM-killed (an oom kill rule), and only that pod", async () => {
    assert.ok(config.rules.some((r) => r.on === "oom"), "the k8s stack's spec has the oom kill rule");
    const events: GuardEvent[] = [];
    const stop = new AbortController();
    const run = runGuard({ client: guardClient, config, pollMs: 200, emit: (e) => events.push(e), signal: stop.signal });
    try {
      // The control: a running workload is left alone.
      await sleep(1500);
      assert.ok(await c.client.exists(pod("workload")), "the guard killed a healthy workload");
      assert.ok(!events.some((e) => e.type === "kill"), JSON.stringify(events));
      const armed = events.find((e) => e.type === "guard-armed")!;
      assert.deepStrictEqual((armed.notEnforcedHere as string[]).sort(), config.rules.map((r) => r.on).filter((r) => r !== "oom").sort(), "the rules the API cannot show are named, not dropped");

      // What the kubelet reports after an OOM kill (kwok leaves a pod marked custom alone).
      await c.client.request("PATCH", `/api/v1/namespaces/${ns}/pods/workload`, { metadata: { annotations: { "kwok.x-k8s.io/status": "custom" } } }, "application/merge-patch+json");
      const live = await c.client.get(pod("workload"));
      const at = new Date().toISOString();
      const containerStatuses = live.spec.containers.map((k: any) => ({
        name: k.name,
        image: k.image,
        imageID: "",
        ready: false,
        restartCount: 0,
        state: { terminated: { exitCode: 137, reason: "OOMKilled", startedAt: at, finishedAt: at } },
      }));
      await c.client.request("PATCH", `/api/v1/namespaces/${ns}/pods/workload/status`, { status: { phase: "Failed", containerStatuses } }, "application/merge-patch+json");

      const trip = await Promise.race([run, sleep(60_000).then(() => "timeout" as const)]);
      assert.notStrictEqual(trip, "timeout", `the guard did not act: ${JSON.stringify(events)}`);
      assert.strictEqual((trip as any)?.rule, "oom");
      assert.ok(events.some((e) => e.type === "limit-hit" && e.limit === "memory"), JSON.stringify(events));
      assert.ok(events.some((e) => e.type === "workload-deleted"), JSON.stringify(events));
      // Deleted by the API server: gone, or terminating until the kubelet confirms (kwok leaves a pod
      // whose status is marked custom to us, so it may stay terminating).
      const after = await c.client.get(pod("workload")).catch((e) => (e instanceof KubeApiError && e.status === 404 ? undefined : Promise.reject(e)));
      assert.ok(!after || after.metadata.deletionTimestamp, "the workload pod was not deleted");
      assert.ok(await c.client.exists(pod("gate")), "the guard removed more than the workload");
    } finally {
      stop.abort();
      await run.catch(() => undefined);
    }
  });

  it("deletes the workload when the sandbox's expiry passes (its own clock, beside activeDeadlineSeconds)", async () => {
    // A fresh workload pod (the previous test's was deleted; the one kwok was told to leave alone is removed now).
    await c.client.request("DELETE", `/api/v1/namespaces/${ns}/pods/workload`, { kind: "DeleteOptions", apiVersion: "v1", gracePeriodSeconds: 0 }).catch(() => undefined);
    const end = Date.now() + 60_000;
    while ((await c.client.exists(pod("workload"))) && Date.now() < end) await sleep(250);
    await c.client.apply(objs.find((o) => o.kind === "Pod" && o.metadata.name === "workload")!);
    assert.ok(config.expiresAt, "rules.json carries the sandbox's expiry");
    const expiry = Date.parse(config.expiresAt!);
    let clock = expiry - 60_000;
    const events: GuardEvent[] = [];
    const stop = new AbortController();
    const run = runGuard({ client: guardClient, config, pollMs: 200, emit: (e) => events.push(e), signal: stop.signal, now: () => new Date(clock) });
    try {
      await sleep(1000);
      assert.ok(await c.client.exists(pod("workload")), "killed before the expiry");
      clock = expiry + 1000;
      const trip = await Promise.race([run, sleep(30_000).then(() => "timeout" as const)]);
      assert.strictEqual((trip as any)?.rule, "ttl", JSON.stringify(events));
      const after = await c.client.get(pod("workload")).catch((e) => (e instanceof KubeApiError && e.status === 404 ? undefined : Promise.reject(e)));
      assert.ok(!after || after.metadata.deletionTimestamp, "the workload pod was not deleted");
    } finally {
      stop.abort();
      await run.catch(() => undefined);
    }
  });

  it("gives each workload pod that starts the time left to the sandbox's expiry as its deadline: a pod replaced late gets no fresh TTL", async () => {
    const workloadObj = objs.find((o) => o.kind === "Pod" && o.metadata.name === "workload")!;
    const ttlSeconds = workloadObj.spec.activeDeadlineSeconds;
    // The kept expiry 90 s away: a sandbox near its end whose workload pod an `up` replaces now.
    const expiry = Date.now() + 90_000;
    const near: GuardConfig = { ...config, rules: config.rules.filter((r) => r.on === "oom"), expiresAt: new Date(expiry).toISOString() };
    const replaceWorkload = async () => {
      await c.client.request("DELETE", `/api/v1/namespaces/${ns}/pods/workload`, { kind: "DeleteOptions", apiVersion: "v1", gracePeriodSeconds: 0 }).catch(() => undefined);
      const end = Date.now() + 60_000;
      while ((await c.client.exists(pod("workload"))) && Date.now() < end) await sleep(250);
      // The quota (pods = the sandbox's own) frees the deleted pod's share when its controller
      // recounts, a moment after the pod is gone: until then the API server refuses the new one.
      for (;;) {
        try {
          return await c.client.apply(workloadObj);
        } catch (e) {
          if (!(e instanceof KubeApiError && e.status === 403 && /exceeded quota/.test(e.message)) || Date.now() > end) throw e;
          await sleep(500);
        }
      }
    };
    // Started (kwok sets status.startTime as a kubelet would), with its deadline as rendered: the TTL.
    const started = async () => {
      const end = Date.now() + 60_000;
      for (;;) {
        const live = await c.client.get(pod("workload")).catch(() => undefined);
        if (live?.status?.startTime) return live;
        if (Date.now() > end) throw new Error(`the workload pod did not start: ${JSON.stringify(live?.status)}`);
        await sleep(250);
      }
    };
    const lowered = async (uid: string) => {
      const end = Date.now() + 30_000;
      for (;;) {
        const live = await c.client.get(pod("workload"));
        if (live.metadata.uid === uid && live.spec.activeDeadlineSeconds !== ttlSeconds) return live;
        if (Date.now() > end) throw new Error(`the deadline of ${uid} stayed ${live.spec.activeDeadlineSeconds}: ${JSON.stringify(events)}`);
        await sleep(200);
      }
    };
    await replaceWorkload();
    const first = await started();
    assert.strictEqual(first.spec.activeDeadlineSeconds, ttlSeconds, "the pod is created with the TTL (its input never changes)");
    const events: GuardEvent[] = [];
    const stop = new AbortController();
    const run = runGuard({ client: guardClient, config: near, pollMs: 200, emit: (e) => events.push(e), signal: stop.signal });
    try {
      for (const live of [first, undefined]) {
        const p = live ?? (await replaceWorkload(), await started());
        const after = await lowered(p.metadata.uid);
        // What the kubelet then enforces: startTime + activeDeadlineSeconds, which is the expiry (to the second).
        const endsAt = Date.parse(after.status.startTime) + after.spec.activeDeadlineSeconds * 1000;
        assert.ok(endsAt >= expiry && endsAt < expiry + 1000, `the pod ends at ${new Date(endsAt).toISOString()}, the sandbox at ${new Date(expiry).toISOString()}`);
        assert.ok(after.spec.activeDeadlineSeconds < ttlSeconds);
      }
      const set = events.filter((e) => e.type === "deadline-set");
      assert.strictEqual(set.length, 2, JSON.stringify(events));
      assert.notStrictEqual(set[0].uid, set[1].uid, "the replacement (a new uid) got its own deadline");
      assert.ok(await c.client.exists(pod("workload")), "lowering the deadline is not a kill");
    } finally {
      stop.abort();
      await run.catch(() => undefined);
    }
  });
});

describe("Kubernetes guard: the workload's deadline from the sandbox's expiry (pure)", () => {
  const start = "2026-12-03T10:00:00Z";
  const at = (iso: string) => Date.parse(iso);
  it("the seconds from the pod's start to the expiry, rounded up; at least 1 for a pod started after it", () => {
    assert.strictEqual(deadlineAtExpiry({ status: { startTime: start }, spec: { activeDeadlineSeconds: 14400 } }, at("2026-12-03T10:30:00.200Z")), 1801);
    assert.strictEqual(deadlineAtExpiry({ status: { startTime: start }, spec: { activeDeadlineSeconds: 14400 } }, at("2026-12-03T09:00:00Z")), 1);
  });
  it("nothing before the pod started, nor when its deadline already ends it by the expiry (the API takes only a decrease)", () => {
    assert.strictEqual(deadlineAtExpiry({ status: {}, spec: { activeDeadlineSeconds: 14400 } }, at("2026-12-03T10:30:00Z")), undefined);
    assert.strictEqual(deadlineAtExpiry({ status: { startTime: start }, spec: { activeDeadlineSeconds: 600 } }, at("2026-12-03T10:30:00Z")), undefined);
    assert.strictEqual(deadlineAtExpiry({ status: { startTime: start }, spec: {} }, at("2026-12-03T10:30:00Z")), 1800);
  });
});

describe("Kubernetes guard image (OCI layout, built without Docker)", function () {
  this.timeout(300_000);
  let dir: string;
  let img: ReturnType<typeof buildGuardImage>;
  let rootfs: string;

  before(function () {
    this.timeout(300_000);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-guard-image-test-"));
    rootfs = path.join(dir, "rootfs");
    execFileSync(process.execPath, [path.join(__dirname, "..", "bin", "build-dist.js")], { stdio: "ignore" });
    img = buildGuardImage(path.join(dir, "guard.tar"), { keepRootfs: rootfs });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("is a valid OCI layout: every descriptor's digest and size are its blob's, the layer's diff_id its uncompressed tar's", () => {
    const layout = path.join(dir, "layout");
    fs.mkdirSync(layout);
    execFileSync("tar", ["-xf", img.archive, "-C", layout]);
    const sha = (f: string) => "sha256:" + require("crypto").createHash("sha256").update(fs.readFileSync(f)).digest("hex");
    const blob = (d: string) => path.join(layout, "blobs", "sha256", d.replace(/^sha256:/, ""));
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(layout, "oci-layout"), "utf8")), { imageLayoutVersion: "1.0.0" });
    const index = JSON.parse(fs.readFileSync(path.join(layout, "index.json"), "utf8"));
    const m = index.manifests[0];
    assert.strictEqual(m.digest, img.digest);
    assert.strictEqual(sha(blob(m.digest)), m.digest);
    assert.strictEqual(fs.statSync(blob(m.digest)).size, m.size);
    const manifest = JSON.parse(fs.readFileSync(blob(m.digest), "utf8"));
    assert.strictEqual(manifest.mediaType, "application/vnd.oci.image.manifest.v1+json");
    for (const d of [manifest.config, ...manifest.layers]) {
      assert.strictEqual(sha(blob(d.digest)), d.digest, d.mediaType);
      assert.strictEqual(fs.statSync(blob(d.digest)).size, d.size, d.mediaType);
    }
    const config = JSON.parse(fs.readFileSync(blob(manifest.config.digest), "utf8"));
    const unzipped = path.join(dir, "layer.tar");
    fs.writeFileSync(unzipped, require("zlib").gunzipSync(fs.readFileSync(blob(manifest.layers[0].digest))));
    assert.deepStrictEqual(config.rootfs.diff_ids, [sha(unzipped)]);
    assert.ok(!/^0?:|^root/.test(config.config.User), `the image runs as ${config.config.User}`);
  });

  it("is reproducible: the same inputs give the same digest", () => {
    const again = buildGuardImage(path.join(dir, "again.tar"));
    assert.strictEqual(again.digest, img.digest);
  });

  it("states what it was built from in its config (Node's version, each native file's sha256 and package, the program's hash), and its files match", () => {
    const v = verifyGuardImage(img.archive);
    assert.strictEqual(v.digest, img.digest);
    assert.deepStrictEqual(v.problems, []);
    const b = v.builtFrom!;
    // Read here, not from the builder: the version the image's own Node reports, the hash of each file in its root.
    assert.strictEqual(b.node, execFileSync(path.join(rootfs, IMAGE_NODE), ["--version"], { encoding: "utf8" }).trim());
    assert.strictEqual(b.native[0].path, IMAGE_NODE);
    const sha = (f: string) => require("crypto").createHash("sha256").update(fs.readFileSync(f)).digest("hex");
    for (const n of b.native) assert.strictEqual(n.sha256, sha(path.join(rootfs, n.path)), n.path);
    const libc = b.native.find((n) => /\/libc\.so\.6$/.test(n.path));
    assert.ok(libc, "glibc is among the inputs");
    if (fs.existsSync("/usr/bin/dpkg")) assert.match(libc!.package ?? "", /^libc6(:[a-z0-9]+)? \S+$/, "the Debian package glibc came from, with its version");
  });

  it("refuses a root whose files are not what its labels say: a changed library, a file nobody listed", () => {
    const built = verifyGuardImage(img.archive).builtFrom!;
    const lib = built.native.find((n) => /libm\.so/.test(n.path)) ?? built.native[1];
    const file = path.join(rootfs, lib.path);
    const orig = fs.readFileSync(file);
    const extra = path.join(rootfs, "usr", "bin", "not-listed");
    try {
      fs.appendFileSync(file, Buffer.from([0]));
      fs.mkdirSync(path.dirname(extra), { recursive: true });
      fs.writeFileSync(extra, "x");
      const problems = verifyRootfs(rootfs, built);
      assert.ok(problems.some((p) => p.startsWith(`${lib.path}: sha256`)), problems.join("\n"));
      assert.ok(problems.some((p) => p.startsWith("/usr/bin/not-listed:")), problems.join("\n"));
    } finally {
      fs.writeFileSync(file, orig);
      fs.rmSync(extra, { force: true });
    }
    assert.deepStrictEqual(verifyRootfs(rootfs, built), [], "restored: the control passes");
  });

  it("another Node binary gives another digest, and the difference names it", () => {
    const other = path.join(dir, "node-other");
    fs.copyFileSync(fs.realpathSync(process.execPath), other);
    fs.chmodSync(other, 0o755);
    fs.appendFileSync(other, Buffer.from("\n")); // trailing bytes: the same program, other bytes
    const b = buildGuardImage(path.join(dir, "other.tar"), { nodeBinary: other });
    assert.notStrictEqual(b.digest, img.digest);
    const diff = differences(img.builtFrom, b.builtFrom);
    assert.strictEqual(diff.length, 1, diff.join("\n"));
    assert.match(diff[0], new RegExp(`^${IMAGE_NODE}: `));
  });

  it("runs on its own files alone (chroot into the image's root): the guard program starts, refuses a call without --kubernetes, reads its rules", function () {
    if (process.getuid?.() !== 0) skipBecause(this, "chroot into the image's root needs root");
    const entry = path.join(IMAGE_APP_DIR, "dist", GUARD_ENTRY.replace(/\.ts$/, ".js"));
    // The host's chroot, found on the host's PATH; inside, the image's environment only.
    const chroot = execFileSync("sh", ["-c", "command -v chroot"], { encoding: "utf8" }).trim();
    const env = { PATH: "/usr/local/bin" };
    const bare = spawnSync(chroot, [rootfs, IMAGE_NODE, entry, "guard"], { encoding: "utf8", env });
    assert.strictEqual(bare.status, 2, bare.stderr);
    assert.match(bare.stderr, /guard --kubernetes --rules/);
    // With rules but outside a pod: it gets as far as looking for the pod's API credentials.
    fs.mkdirSync(path.join(rootfs, "etc", "airlock"), { recursive: true });
    fs.writeFileSync(path.join(rootfs, "etc", "airlock", "rules.json"), JSON.stringify({ sandbox: "s", namespace: "n", workloadPod: "workload", rules: [{ on: "oom" }] }));
    const run = spawnSync(chroot, [rootfs, IMAGE_NODE, entry, "guard", "--kubernetes", "--rules", "/etc/airlock/rules.json"], { encoding: "utf8", env });
    assert.strictEqual(run.status, 1, run.stderr);
    assert.match(run.stderr, /KUBERNETES_SERVICE_HOST is not set/);
  });
});
