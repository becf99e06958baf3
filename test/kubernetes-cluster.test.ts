// The Kubernetes backend against a real API server (etcd + kube-apiserver + controller-manager +
// scheduler + kwok on loopback: helpers/kube-cluster.ts): every object of the k8s stacks applied by
// server-side apply and accepted; the pods Running (kwok); the refusals admission itself makes
// (Pod Security "restricted", RuntimeClass); destroy removes the namespace and nothing else; the
// sweeper finds an expired sandbox by its label. What the NetworkPolicies *allow* is computed in
// kubernetes-render.test.ts (no CNI runs here).
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { kubeCluster, type KubeCluster } from "./helpers/kube-cluster";
import { renderStack, K8S_STACKS } from "./helpers/kube-fixtures";
import { RUN_TAG } from "./helpers/run-scope";
import { KubeApiError } from "../components/kubernetes/api";
import { describe as describeObj, type Manifest } from "../components/kubernetes/manifest";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function applyAll(c: KubeCluster, objs: Manifest[]) {
  for (const o of objs) {
    try {
      await c.client.apply(o);
    } catch (e) {
      throw new Error(`${describeObj(o)} refused: ${(e as Error).message}`);
    }
  }
}

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s`);
    await sleep(250);
  }
}

async function refusal(p: Promise<unknown>): Promise<KubeApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KubeApiError) return e;
    throw e;
  }
  assert.fail("the API server accepted it");
}

async function namespaceGone(c: KubeCluster, ns: string, ms = 90_000) {
  await waitFor(`namespace ${ns} deleted`, ms, async () => ((await c.client.exists({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } })) ? undefined : true));
}

describe("Kubernetes backend against a real API server", function () {
  this.timeout(600_000);
  let c: KubeCluster;

  before(async function () {
    this.timeout(1_200_000); // a cold build of the control plane happens in `npm test`'s pretest; a direct run may build here
    c = await kubeCluster();
    console.log(`      (control plane up in ${(c.startMs / 1000).toFixed(1)} s)`);
    // The kata stack says its cluster already has RuntimeClass kata: the cluster admin's object.
    await c.client.apply({ apiVersion: "node.k8s.io/v1", kind: "RuntimeClass", metadata: { name: "kata" }, handler: "kata" });
  });

  for (const stack of K8S_STACKS) {
    it(`stack ${stack}: every object applied and accepted, gate and workload pods Running; destroy removes only its namespaces`, async () => {
      const r = renderStack(stack, () => {}, { suffix: `${RUN_TAG}a` });
      const t0 = Date.now();
      await applyAll(c, r.cluster);
      // Members in parallel (a few at a time): the API server takes them independently.
      const queue = [...r.members];
      await Promise.all(Array.from({ length: 8 }, async () => {
        for (let m = queue.shift(); m; m = queue.shift()) await applyAll(c, m.objects);
      }));
      const applied = r.cluster.length + r.members.reduce((n, m) => n + m.objects.length, 0);
      console.log(`      (${stack}: ${applied} objects applied in ${Date.now() - t0} ms)`);
      for (const m of r.members) {
        for (const o of m.objects) assert.ok(await c.client.exists(o), `${describeObj(o)} is not there after apply`);
      }
      // kwok plays the kubelet: scheduled pods become Running (admission, scheduling, readiness wiring).
      for (const m of [r.members[0], r.members[r.members.length - 1]]) {
        for (const pod of m.objects.filter((o) => o.kind === "Pod")) {
          const phase = await waitFor(`${describeObj(pod)} Running`, 60_000, async () => {
            const p = await c.client.get(pod);
            return p.status?.phase === "Running" ? p.status.phase : undefined;
          });
          assert.strictEqual(phase, "Running");
        }
      }
      const live = await c.client.get({ apiVersion: "v1", kind: "Pod", metadata: { name: "workload", namespace: r.members[0].ctx.ns } });
      assert.strictEqual(live.spec.runtimeClassName, r.profile.runtimeClass);
      assert.strictEqual(live.spec.automountServiceAccountToken, false);

      // Destroy: the members' namespaces go, with everything in them; nothing else does.
      const before = (await c.client.list("v1", "Namespace")).map((n) => n.metadata.name);
      const mine = new Set(r.members.map((m) => m.ctx.ns));
      for (const ns of mine) await c.client.delete({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
      for (const ns of mine) await namespaceGone(c, ns);
      const after = (await c.client.list("v1", "Namespace")).map((n) => n.metadata.name);
      assert.deepStrictEqual(after.sort(), before.filter((n) => !mine.has(n)).sort());
      for (const rc of r.cluster) assert.ok(await c.client.exists(rc), `${describeObj(rc)} (shared) was removed`);
      for (const o of [{ apiVersion: "v1", kind: "Pod" }, { apiVersion: "v1", kind: "Secret" }, { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" }]) {
        const left = (await c.client.list(o.apiVersion, o.kind, { labelSelector: "airlock.dev/sandbox" })).filter((x) => mine.has(x.metadata.namespace));
        assert.deepStrictEqual(left.map((x) => `${x.metadata.namespace}/${x.metadata.name}`), [], `${o.kind} left behind`);
      }
    });
  }

  describe("admission refuses the unsafe workload mutations itself", () => {
    let workload: Manifest;
    before(async () => {
      const r = renderStack("k8s", () => {}, { suffix: `${RUN_TAG}b` });
      const objs = r.members[0].objects;
      // The boundary and everything the workload needs, but no pods: the quota leaves room for one workload.
      await applyAll(c, [...r.cluster, ...objs.filter((o) => o.kind !== "Pod")]);
      workload = objs.find((o) => o.kind === "Pod" && o.metadata.name === "workload")!;
    });
    after(async () => {
      await c.client.delete({ apiVersion: "v1", kind: "Namespace", metadata: { name: workload.metadata.namespace! } }, { ignoreMissing: true });
      await namespaceGone(c, workload.metadata.namespace!);
    });
    const variant = (name: string, change: (p: any) => void): Manifest => {
      const p = structuredClone(workload);
      p.metadata.name = name;
      change(p);
      return p;
    };

    it("positive control: the workload pod as rendered is accepted (dry run)", async () => {
      await c.client.create(variant("control", () => {}), { dryRun: true });
    });
    const podSecurity: [string, (p: any) => void, RegExp][] = [
      // privileged needs allowPrivilegeEscalation (the API refuses the pair as Invalid otherwise)
      ["privileged", (p) => {
        p.spec.containers[0].securityContext.privileged = true;
        delete p.spec.containers[0].securityContext.allowPrivilegeEscalation;
      }, /privileged/],
      ["hostNetwork", (p) => (p.spec.hostNetwork = true), /host namespaces|hostNetwork/],
      ["runAsNonRoot missing", (p) => {
        delete p.spec.securityContext.runAsNonRoot;
        delete p.spec.containers[0].securityContext.runAsNonRoot;
        delete p.spec.securityContext.runAsUser;
        delete p.spec.containers[0].securityContext.runAsUser;
      }, /runAsNonRoot/],
      ["a hostPath volume", (p) => p.spec.volumes.push({ name: "host", hostPath: { path: "/" } }), /hostPath/],
      ["capabilities not dropped", (p) => (p.spec.containers[0].securityContext.capabilities = { add: ["NET_ADMIN"] }), /capabilities/],
    ];
    for (const [what, change, why] of podSecurity) {
      it(`${what}: refused by Pod Security "restricted"`, async () => {
        const e = await refusal(c.client.create(variant(`m-${what.replace(/[^a-z]/gi, "").toLowerCase()}`, change), { dryRun: true }));
        assert.strictEqual(e.status, 403, e.message);
        assert.match(e.message, /violates PodSecurity "restricted:latest"/);
        assert.match(e.message, why);
      });
    }
    it("an unknown RuntimeClass: refused by the RuntimeClass admission", async () => {
      const e = await refusal(c.client.create(variant("m-unknownrc", (p) => (p.spec.runtimeClassName = `no-such-runtime-${RUN_TAG}`)), { dryRun: true }));
      assert.match(e.message, /RuntimeClass "no-such-runtime-[0-9a-f]+" not found/);
    });
    it("a NetworkPolicy with a broken ipBlock: refused as Invalid", async () => {
      const e = await refusal(c.client.create({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "bad", namespace: workload.metadata.namespace }, spec: { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/33" } }] }] } }, { dryRun: true }));
      assert.strictEqual(e.status, 422, e.message);
    });
  });

  it("airlock sweep --backend kubernetes removes the expired sandbox's namespace (found by label) and keeps the live one", async () => {
    const expired = renderStack("k8s-kata", () => {}, { suffix: `${RUN_TAG}x`, now: new Date(Date.now() - 5 * 3_600_000) });
    const live = renderStack("k8s-kata", () => {}, { suffix: `${RUN_TAG}l` });
    await applyAll(c, [...expired.members[0].objects, ...live.members[0].objects]);
    const r = spawnSync(process.execPath, [path.join(__dirname, "..", "bin", "airlock.js"), "sweep", "--backend", "kubernetes", "--no-engine", "--json"], {
      encoding: "utf8",
      env: { ...process.env, KUBECONFIG: c.kubeconfig, PATH: `${c.binDir}:${process.env.PATH}` },
      timeout: 120_000,
    });
    try {
      assert.strictEqual(r.status, 0, r.stderr + r.stdout);
      const out = JSON.parse(r.stdout);
      const byId = Object.fromEntries(out.sandboxes.map((s: any) => [s.sandbox, s.action]));
      assert.strictEqual(byId[expired.members[0].ctx.identity.id], "delete-directly", r.stdout);
      assert.strictEqual(byId[live.members[0].ctx.identity.id], "keep", r.stdout);
      await namespaceGone(c, expired.members[0].ctx.ns);
      assert.ok(await c.client.exists(live.members[0].objects[0]), "the live sandbox's namespace was removed");
    } finally {
      for (const x of [expired, live]) await c.client.delete(x.members[0].objects[0], { ignoreMissing: true });
      await namespaceGone(c, live.members[0].ctx.ns);
    }
  });
});
