// A real Kubernetes control plane on loopback for the tests: etcd + kube-apiserver +
// kube-controller-manager + kube-scheduler + kwok (fake nodes: pods become Running without a kubelet),
// built by bin/setup-tests.d/30-kubernetes.sh. Started once per mocha run, on first use
// (`await kubeCluster()`), with a private data dir and free loopback ports; stopped by the root hook in
// test/setup.ts before the suite's leftover check, which would otherwise count these processes (they
// carry this run's AIRLOCK_STATE_DIR) as leaked.
//
// After a SIGKILLed run, the next start stops what that run left: every data dir records the pids it
// started, and a pid is only signalled when its command line still names that data dir.
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { KubeClient } from "../../components/kubernetes/api";

const ROOT = path.join(__dirname, "..", "..");
const DATA_PREFIX = "airlock-kube-";

export interface KubeCluster {
  client: KubeClient;
  kubeconfig: string;
  dir: string;
  /** Name of the kwok fake node pods are scheduled on. */
  node: string;
  /** The cluster's service range (what a NetworkPolicy's `except` must hold). */
  serviceCidr: string;
  binDir: string;
  startMs: number;
}

/** The cached binaries, as the setup script reports them (builds only if missing). */
export function kubeBinDir(): string {
  const out = execFileSync("bash", [path.join(ROOT, "bin/setup-tests.d/30-kubernetes.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const dir = out.trim().split("\n").pop()!.split(": ").pop()!;
  return path.join(dir, "bin");
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>, procs: ChildProcess[] = []): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    const dead = procs.find((p) => p.exitCode !== null || p.signalCode !== null);
    if (dead) throw new Error(`${what}: ${dead.spawnfile} exited (${dead.exitCode ?? dead.signalCode}); see its log`);
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await sleep(200);
  }
  throw new Error(`${what}: not within ${ms / 1000} s${last ? ` (last: ${(last as Error).message})` : ""}`);
}

function openssl(args: string[], cwd: string) {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

function makeCerts(dir: string) {
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=airlock-test-ca"], dir);
  fs.writeFileSync(path.join(dir, "san.cnf"), "subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.96.0.1\n");
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "apiserver.key", "-out", "apiserver.csr", "-subj", "/CN=kube-apiserver"], dir);
  openssl(["x509", "-req", "-in", "apiserver.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "apiserver.crt", "-days", "2", "-extfile", "san.cnf"], dir);
  openssl(["genrsa", "-out", "sa.key", "2048"], dir);
  openssl(["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
}

/** Stops what a dead earlier run left (its mocha pid is gone), verified by command line. */
function reapStale() {
  for (const name of fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(DATA_PREFIX))) {
    const dir = path.join(os.tmpdir(), name);
    const owner = Number(fs.readFileSync(path.join(dir, "owner"), "utf8").trim() || 0);
    if (owner && fs.existsSync(`/proc/${owner}`)) continue; // a live run's cluster
    const pids = fs.existsSync(path.join(dir, "pids")) ? fs.readFileSync(path.join(dir, "pids"), "utf8").split("\n").filter(Boolean).map(Number) : [];
    for (const pid of pids) {
      const cmd = fs.existsSync(`/proc/${pid}/cmdline`) ? fs.readFileSync(`/proc/${pid}/cmdline`, "utf8") : "";
      if (cmd.includes(dir)) process.kill(pid, "SIGKILL");
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

let running: { cluster: KubeCluster; procs: ChildProcess[] } | undefined;
let starting: Promise<KubeCluster> | undefined;

/** The run's cluster; started on first call (~10-20 s), shared by every test file. */
export function kubeCluster(): Promise<KubeCluster> {
  return (starting ??= start());
}

async function start(): Promise<KubeCluster> {
  const t0 = Date.now();
  const binDir = kubeBinDir();
  try {
    reapStale();
  } catch {
    /* a dir being removed by its own run */
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), DATA_PREFIX));
  fs.writeFileSync(path.join(dir, "owner"), String(process.pid));
  makeCerts(dir);
  const token = "airlock-test-admin-" + Math.random().toString(36).slice(2);
  fs.writeFileSync(path.join(dir, "tokens.csv"), `${token},admin,admin,"system:masters"\n`);
  const [etcdPort, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  const server = `https://127.0.0.1:${apiPort}`;
  const kubeconfig = path.join(dir, "kubeconfig");
  fs.writeFileSync(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{name: test, cluster: {server: '" + server + "', certificate-authority: '" + path.join(dir, "ca.crt") + "'}}]",
      "users: [{name: admin, user: {token: '" + token + "'}}]",
      "contexts: [{name: test, context: {cluster: test, user: admin}}]",
      "current-context: test",
      "",
    ].join("\n"),
  );
  const procs: ChildProcess[] = [];
  const run = (bin: string, args: string[]) => {
    const log = fs.openSync(path.join(dir, `${bin}.log`), "a");
    const p = spawn(path.join(binDir, bin), args, { stdio: ["ignore", log, log], detached: false });
    fs.closeSync(log);
    fs.appendFileSync(path.join(dir, "pids"), `${p.pid}\n`);
    procs.push(p);
    return p;
  };
  // The stacks' service range, so that their fixed gate/target addresses are valid here.
  const serviceCidr = "10.96.0.0/12";
  try {
    run("etcd", [
      `--data-dir=${dir}/etcd`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
      "--unsafe-no-fsync",
      "--log-level=warn",
    ]);
    run("kube-apiserver", [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${dir}/apiserver.crt`,
      `--tls-private-key-file=${dir}/apiserver.key`,
      `--client-ca-file=${dir}/ca.crt`,
      `--token-auth-file=${dir}/tokens.csv`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${dir}/sa.pub`,
      `--service-account-signing-key-file=${dir}/sa.key`,
      `--service-cluster-ip-range=${serviceCidr}`,
      "--authorization-mode=Node,RBAC",
      // Privileged pods allowed at the cluster level, so that a refusal we observe is the namespace's
      // Pod Security "restricted" doing it, not a cluster-wide switch.
      "--allow-privileged=true",
      "--enable-priority-and-fairness=false",
      `--cert-dir=${dir}/certs`,
    ]);
    const client = KubeClient.fromKubeconfig(kubeconfig);
    await until("kube-apiserver /readyz", 60_000, async () => ((await client.request("GET", "/readyz")) === "ok" ? true : undefined), procs);
    run("kube-controller-manager", [
      `--kubeconfig=${kubeconfig}`,
      "--leader-elect=false",
      "--secure-port=0",
      `--service-account-private-key-file=${dir}/sa.key`,
      `--root-ca-file=${dir}/ca.crt`,
      "--use-service-account-credentials=false",
      // No cloud, no volumes, no node lifecycle (kwok plays the nodes).
      "--controllers=*,-node-ipam-controller,-node-lifecycle-controller,-cloud-node-lifecycle-controller,-service-lb-controller,-node-route-controller,-persistentvolume-attach-detach-controller,-persistentvolume-binder-controller,-persistentvolume-expander-controller,-ephemeral-volume-controller,-persistentvolume-protection-controller,-persistentvolumeclaim-protection-controller",
    ]);
    run("kube-scheduler", [`--kubeconfig=${kubeconfig}`, `--authentication-kubeconfig=${kubeconfig}`, `--authorization-kubeconfig=${kubeconfig}`, "--leader-elect=false", "--secure-port=0"]);
    run("kwok", [
      `--kubeconfig=${kubeconfig}`,
      `--config=${path.join(binDir, "..", "kwok-stages.yaml")}`,
      "--manage-all-nodes=false",
      "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
      "--manage-nodes-with-label-selector=",
      "--disregard-status-with-annotation-selector=kwok.x-k8s.io/status=custom",
      "--disregard-status-with-label-selector=",
      "--cidr=10.244.0.1/16",
      "--node-ip=10.200.0.1",
      "--node-lease-duration-seconds=40",
      "--server-address=127.0.0.1:0",
    ]);
    const node = "airlock-kwok-node-0";
    await client.create({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: node, annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" }, labels: { "kubernetes.io/hostname": node, type: "kwok" } },
      spec: {},
      status: { allocatable: { cpu: "512", memory: "2Ti", "ephemeral-storage": "100Ti", pods: "2000" }, capacity: { cpu: "512", memory: "2Ti", "ephemeral-storage": "100Ti", pods: "2000" } },
    });
    // Nothing clears the not-ready taint with the node lifecycle controller off; kwok marks it Ready.
    await until("kwok node Ready", 60_000, async () => {
      const n = await client.get({ apiVersion: "v1", kind: "Node", metadata: { name: node } });
      if ((n.spec.taints ?? []).length) {
        await client.request("PATCH", `/api/v1/nodes/${node}`, { spec: { taints: [] } }, "application/merge-patch+json");
        return undefined;
      }
      return n.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True") ? true : undefined;
    }, procs);
    await until("default ServiceAccount (controller-manager up)", 60_000, async () => ((await client.exists({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: "default" } })) ? true : undefined), procs);
    const cluster: KubeCluster = { client, kubeconfig, dir, node, serviceCidr, binDir, startMs: Date.now() - t0 };
    running = { cluster, procs };
    return cluster;
  } catch (e) {
    running = { cluster: { dir } as KubeCluster, procs };
    await stopKubeCluster(true);
    throw new Error(`the test Kubernetes control plane did not start: ${(e as Error).message} (logs kept in ${dir})`);
  }
}

/** Stops the run's cluster (if one was started) and removes its data dir (kept when keepLogs). */
export async function stopKubeCluster(keepLogs = false): Promise<void> {
  if (!running) return;
  const { cluster, procs } = running;
  running = undefined;
  starting = undefined;
  cluster.client?.close();
  // Reverse start order: clients before the API server, the API server before etcd.
  for (const p of procs.reverse()) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    const gone = new Promise<void>((r) => p.once("exit", () => r()));
    p.kill("SIGTERM");
    await Promise.race([gone, sleep(5_000)]);
    if (p.exitCode === null && p.signalCode === null) {
      p.kill("SIGKILL");
      await gone;
    }
  }
  if (!keepLogs) fs.rmSync(cluster.dir, { recursive: true, force: true });
}
