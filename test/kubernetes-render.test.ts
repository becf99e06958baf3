// The Kubernetes backend's rendered objects (pure: no cluster). What each object must say is read from
// the Kubernetes semantics the issue names, not from the renderer's constants; what the
// NetworkPolicies allow is computed by an independent analyzer (helpers/netpol-reach.ts).
import * as assert from "assert";
import { renderStack, K8S_STACKS } from "./helpers/kube-fixtures";
import { allowed, probeAddresses, type End, type PodEnd, type World } from "./helpers/netpol-reach";
import { SpecError } from "../components/spec/issues";
import type { Manifest } from "../components/kubernetes/manifest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCli } from "./helpers/local-cli";

const pods = (objs: Manifest[]) => objs.filter((o) => o.kind === "Pod");
const podOf = (objs: Manifest[], role: string) => pods(objs).find((p) => p.metadata.labels?.["airlock.dev/role"] === role)!;

/** The sandbox's pods plus stand-ins elsewhere in the cluster, with made-up pod IPs in the pod range. */
function worldOf(objs: Manifest[]) {
  const ns = objs[0].metadata.name;
  let n = 10;
  const end = (namespace: string, labels: Record<string, string>): PodEnd => ({ kind: "pod", namespace, labels, ip: `10.244.7.${n++}` });
  const mine = Object.fromEntries(pods(objs).map((p) => [p.metadata.name, end(ns, p.metadata.labels!)]));
  const others = {
    // A pod elsewhere that copies the sandbox's labels: labels alone must not let it in.
    impostor: end("other-team", { ...podOf(objs, "workload").metadata.labels, "airlock.dev/role": "workload" }),
    plain: end("default", { app: "web" }),
    runner: end("airlock-system", { "airlock.dev/role": "chaos-runner" }),
    fakeRunner: end("other-team", { "airlock.dev/role": "chaos-runner" }),
    dns: end("kube-system", { "k8s-app": "kube-dns" }),
  };
  const world: World = { policies: objs.filter((o) => o.kind === "NetworkPolicy"), namespaces: {} };
  return { ns, mine, others, world };
}

describe("Kubernetes rendering (pure)", () => {
  for (const stack of K8S_STACKS) {
    describe(`stack ${stack}`, () => {
      const r = renderStack(stack);
      const objs = r.members[0].objects;

      it("one namespace per sandbox, Pod Security restricted enforced, warned and audited, quota and limits in it", () => {
        const ns = objs[0];
        assert.strictEqual(ns.kind, "Namespace");
        for (const mode of ["enforce", "warn", "audit"]) assert.strictEqual(ns.metadata.labels![`pod-security.kubernetes.io/${mode}`], "restricted", mode);
        assert.ok(objs.some((o) => o.kind === "ResourceQuota" && o.metadata.namespace === ns.metadata.name));
        assert.ok(objs.some((o) => o.kind === "LimitRange" && o.metadata.namespace === ns.metadata.name));
        for (const o of objs.slice(1)) assert.strictEqual(o.metadata.namespace, ns.metadata.name, `${o.kind} ${o.metadata.name} outside the namespace`);
        const namespaces = new Set(r.members.map((m) => m.objects[0].metadata.name));
        assert.strictEqual(namespaces.size, r.members.length, "fleet members share a namespace");
      });

      it("Airlock's labels (sandbox, expiry, owner) on every object", () => {
        for (const o of objs) for (const k of ["airlock.dev/sandbox", "airlock.dev/expires-at", "airlock.dev/owner"]) assert.ok(o.metadata.labels?.[k], `${o.kind} ${o.metadata.name} lacks ${k}`);
      });

      it("every pod: no token (but the guard's), no service links, non-root, read-only root, no capabilities, seccomp, no host namespaces, requests = limits, a deadline", () => {
        for (const p of pods(objs)) {
          const s = p.spec;
          const who = p.metadata.name;
          if (p.metadata.labels!["airlock.dev/role"] !== "guard") assert.strictEqual(s.automountServiceAccountToken, false, who);
          assert.strictEqual(s.enableServiceLinks, false, who);
          assert.ok(!s.hostNetwork && !s.hostPID && !s.hostIPC, who);
          assert.ok(!(s.volumes ?? []).some((v: any) => v.hostPath), who);
          assert.strictEqual(s.securityContext.runAsNonRoot, true, who);
          assert.ok(s.securityContext.runAsUser > 0, who);
          assert.strictEqual(s.securityContext.seccompProfile.type, "RuntimeDefault", who);
          assert.ok(s.activeDeadlineSeconds > 0 && s.activeDeadlineSeconds <= r.spec.ttlMs / 1000 + 1, who);
          for (const c of s.containers) {
            assert.strictEqual(c.securityContext.readOnlyRootFilesystem, true, who);
            assert.strictEqual(c.securityContext.allowPrivilegeEscalation, false, who);
            assert.deepStrictEqual(c.securityContext.capabilities.drop, ["ALL"], who);
            assert.ok(!c.securityContext.privileged, who);
            assert.deepStrictEqual(c.resources.requests, c.resources.limits, who);
          }
        }
      });

      it("the workload runs under the stack's hypervisor RuntimeClass and resolves nothing (no DNS)", () => {
        const w = podOf(objs, "workload");
        assert.strictEqual(w.spec.runtimeClassName, r.profile.runtimeClass);
        assert.notStrictEqual(w.spec.runtimeClassName, "runc");
        assert.strictEqual(w.spec.dnsPolicy, "None");
        assert.strictEqual(w.spec.activeDeadlineSeconds, r.spec.ttlMs / 1000);
      });

      it("every container of every pod runs an image pinned by digest", () => {
        for (const p of pods(objs))
          for (const c of [...(p.spec.initContainers ?? []), ...p.spec.containers]) assert.match(c.image, /^[^@\s]+@sha256:[0-9a-f]{64}$/, `${p.metadata.name}/${c.name}: ${c.image}`);
      });

      it("the guard pod runs the stack's guard image, pinned by digest", () => {
        const pinned = r.profile.images.guard!;
        assert.match(pinned, /@sha256:[0-9a-f]{64}$/, "the stack pins the guard by digest");
        const guard = podOf(objs, "guard");
        assert.deepStrictEqual(guard.spec.containers.map((c: any) => c.image), [pinned]);
      });

      it("RuntimeClass objects exactly when the stack says the cluster lacks them", () => {
        assert.strictEqual(r.cluster.some((o) => o.kind === "RuntimeClass" && o.metadata.name === r.profile.runtimeClass), r.profile.createRuntimeClasses);
      });

      it("the guard may patch (its deadline) and delete its own workload pod, read the gate's log, and nothing else", () => {
        const role = objs.find((o) => o.kind === "Role")!;
        assert.deepStrictEqual(role.rules, [
          { apiGroups: [""], resources: ["pods"], resourceNames: [podOf(objs, "workload").metadata.name], verbs: ["get", "watch", "patch", "delete"] },
          { apiGroups: [""], resources: ["pods/log"], resourceNames: [podOf(objs, "gate").metadata.name], verbs: ["get"] },
        ]);
        assert.ok(!objs.some((o) => o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding"));
      });

      describe("what the NetworkPolicies allow (computed)", () => {
        const { mine, others, world } = worldOf(objs);
        const workload = mine.workload;
        const gate = mine.gate;
        const listen = r.spec.egressResolved.map((e) => e.listenPort);
        const outside: End[] = probeAddresses(world.policies).map((ip) => ({ kind: "ip", ip }));

        it("workload -> gate on the listener ports only", () => {
          for (const p of listen) assert.ok(allowed(world, workload, gate, p), `listener ${p}`);
          for (const p of [8474, 22, 53, 1, 65535]) if (!listen.includes(p)) assert.ok(!allowed(world, workload, gate, p), `port ${p}`);
          assert.ok(!allowed(world, workload, gate, 53, "UDP"));
        });

        it("workload -> nothing else: no address, no other pod, no DNS", () => {
          for (const to of [...outside, ...Object.values(others), ...Object.values(mine).filter((p) => p !== gate)])
            for (const port of [443, 80, 53, 8080, ...listen]) assert.ok(!allowed(world, workload, to, port), `workload reaches ${JSON.stringify(to)}:${port}`);
        });

        it("gate -> the listed upstreams only (address, port), targets by pod, no metadata, no cluster ranges", () => {
          for (const e of r.spec.egressResolved) {
            if (e.via === "address") {
              assert.ok(allowed(world, gate, { kind: "ip", ip: e.host! }, e.port), `${e.name}`);
              assert.ok(!allowed(world, gate, { kind: "ip", ip: e.host! }, e.port + 1), `${e.name} other port`);
            }
            if (e.via === "target") assert.ok(allowed(world, gate, mine[`target-${e.target}`], e.port), e.name);
          }
          const listed = new Set(r.spec.egressResolved.filter((e) => e.via === "address").map((e) => e.host));
          for (const to of outside.filter((o) => !listed.has(o.ip))) for (const port of [443, 80, 53, 8080]) assert.ok(!allowed(world, gate, to, port), `gate reaches ${to.ip}:${port}`);
          for (const to of Object.values(others)) assert.ok(!allowed(world, gate, to, 53, "UDP") && !allowed(world, gate, to, 443), `gate reaches ${JSON.stringify(to)}`);
        });

        it("guard -> the API server and the record bucket's endpoint on 443, nothing else", () => {
          const guard = mine.guard;
          const endpoint = r.profile.record!.endpoint.split("/")[0];
          assert.ok(allowed(world, guard, { kind: "ip", ip: endpoint }, 443), "guard -> record endpoint:443");
          assert.ok(!allowed(world, guard, { kind: "ip", ip: endpoint }, 80), "guard -> record endpoint:80");
          // The API server as pods reach it: the stack's addresses, else the `kubernetes` Service (first address of the service range).
          const [svcBase] = r.profile.serviceCidr.split("/");
          const firstService = svcBase.replace(/\d+$/, (d: string) => String(Number(d) + 1));
          const apiServer = r.profile.apiServerCidrs.length ? r.profile.apiServerCidrs.map((c: string) => c.split("/")[0]) : [firstService];
          for (const to of outside.filter((o) => o.ip !== endpoint && !apiServer.includes(o.ip))) assert.ok(!allowed(world, guard, to, 443), `guard reaches ${to.ip}:443`);
          for (const to of [...Object.values(others), workload, gate]) assert.ok(!allowed(world, guard, to, 443), `guard reaches ${JSON.stringify(to)}`);
        });

        it("nothing from another namespace gets in; the gate's admin port only from the chaos runner", () => {
          for (const from of [others.impostor, others.plain, others.fakeRunner, others.dns])
            for (const to of Object.values(mine)) for (const port of [...listen, 8474, 8080, 443]) assert.ok(!allowed(world, from, to, port), `${from.namespace} reaches ${to.labels["airlock.dev/role"]}:${port}`);
          assert.ok(allowed(world, others.runner, gate, 8474), "chaos runner -> admin");
          assert.ok(!allowed(world, workload, gate, 8474), "workload -> admin");
          for (const p of listen) assert.ok(!allowed(world, others.runner, gate, p), "runner -> listener");
        });

        it("the analysis catches a policy that lets the workload reach an address outside the list", () => {
          const leak = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "leak", namespace: objs[0].metadata.name }, spec: { podSelector: { matchLabels: { "airlock.dev/role": "workload" } }, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }] } };
          const w2: World = { ...world, policies: [...world.policies, leak] };
          const reached = probeAddresses(w2.policies).filter((ip) => allowed(w2, workload, { kind: "ip", ip }, 443));
          assert.ok(reached.includes("8.8.8.8") && reached.length > 5, `the analyzer missed the leak: ${reached}`);
        });
      });
    });
  }

  describe("the cluster profile and the spec refuse unsafe or impossible setups, naming the field", () => {
    const refuses = (adjust: (d: { spec: any; profile: any }) => void, path: RegExp, fix: RegExp) => {
      assert.throws(() => renderStack("k8s", adjust), (e: any) => e instanceof SpecError && e.issues.some((i) => path.test(i.path) && fix.test(i.fix)));
    };
    it("runc without unsafe.sharedKernel", () => refuses((d) => (d.profile.runtimeClass = "runc"), /^runtimeClass$/, /unsafe\.sharedKernel/));
    it("runc with unsafe.sharedKernel is built, and says so", () => {
      const r = renderStack("k8s", (d) => {
        d.profile.runtimeClass = "runc";
        d.spec.unsafe = { sharedKernel: true };
      });
      assert.strictEqual(podOf(r.members[0].objects, "workload").spec.runtimeClassName, "runc");
      assert.deepStrictEqual(r.spec.waived, ["sharedKernel"]);
    });
    it("confidential without a confidential node pool or RuntimeClass", () => refuses((d) => (d.spec.confidential = "sev-snp"), /^confidential$/, /nodeSelector|runtimeClass/));
    it("confidential with a pool: the workload is placed on it (selector + toleration) and the confidential RuntimeClass", () => {
      const r = renderStack("k8s", (d) => {
        d.spec.confidential = "sev-snp";
        d.profile.confidential = { nodeSelector: { "cloud.google.com/gke-confidential-nodes-instance-type": "SEV_SNP" }, tolerations: [{ key: "confidential", operator: "Exists", effect: "NoSchedule" }], runtimeClass: "kata-cc" };
      });
      const w = podOf(r.members[0].objects, "workload");
      assert.strictEqual(w.spec.nodeSelector["cloud.google.com/gke-confidential-nodes-instance-type"], "SEV_SNP");
      assert.strictEqual(w.spec.tolerations[0].key, "confidential");
      assert.strictEqual(w.spec.runtimeClassName, "kata-cc");
    });
    it("an upstream given by name (a NetworkPolicy matches addresses)", () => refuses((d) => (d.spec.egress.allow[0].host = "api.example.org"), /egress\.allow\[0\]\.host/, /IPv4/));
    it("an upstream address inside the cluster's own ranges", () => {
      refuses((d) => (d.spec.egress.allow[0].host = "10.244.3.3"), /egress\.allow\[0\]\.host/, /via: target/);
    });
    it("a typo in the profile", () => refuses((d) => (d.profile.runtimeClas = "kata"), /runtimeClas/, /.+/));
    it("no record bucket while logs must be locked", () => refuses((d) => delete d.profile.record, /^record$/, /bucket/));
    it("a guard image given by tag only (mutable)", () => refuses((d) => (d.profile.images.guard = "registry.example.org/airlock/guard:0.1.0"), /^images\.guard$/, /sha256/));
    it("a guard image given by a short or non-sha256 digest", () => {
      refuses((d) => (d.profile.images.guard = "registry.example.org/airlock/guard@sha256:abc123"), /^images\.guard$/, /sha256/);
      refuses((d) => (d.profile.images.guard = `registry.example.org/airlock/guard@md5:${"a".repeat(64)}`), /^images\.guard$/, /sha256/);
    });
    it("kill rules but no guard image", () => refuses((d) => delete d.profile.images.guard, /^images\.guard$/, /build-guard-image/));
    // Every image a sandbox's pods run is pinned by digest (a tag can be re-pushed with other code).
    const TAGGED = "registry.example.org/evals/harness:2026.11";
    it("a gate image given by tag (mutable)", () => refuses((d) => (d.profile.images.gate = "ghcr.io/shopify/toxiproxy:2.12.0"), /^images\.gate$/, /sha256.*crane digest/));
    it("a workload image given by tag, or by a digest that is not sha256:<64 hex>", () => {
      refuses((d) => (d.spec.workload.image = TAGGED), /^workload\.image$/, /sha256.*crane digest/);
      refuses((d) => (d.spec.workload.image = `${TAGGED}@sha256:${"A".repeat(64)}`), /^workload\.image$/, /sha256/);
    });
    it("no workload image (no default tag to fall back on)", () => refuses((d) => delete d.spec.workload.image, /^workload\.image$/, /sha256/));
    it("a target image given by tag, or none", () => {
      refuses((d) => (d.spec.targets[0].image = "registry.example.org/evals/vuln-webapp:1.4"), /^targets\[0\]\.image$/, /sha256/);
      refuses((d) => delete d.spec.targets[0].image, /^targets\[0\]\.image$/, /sha256/);
    });
    it("the default gate image is pinned by digest, and a tag before the digest is accepted", () => {
      const r = renderStack("k8s", (d) => {
        delete d.profile.images.gate;
        d.spec.workload.image = `${TAGGED}@sha256:${"0".repeat(64)}`;
      });
      assert.match(podOf(r.members[0].objects, "gate").spec.containers[0].image, /^ghcr\.io\/shopify\/toxiproxy(:[^@]+)?@sha256:[0-9a-f]{64}$/);
    });
    it("a record bucket without the endpoint the guard reaches it at", () => refuses((d) => delete d.profile.record.endpoint, /record\.endpoint/, /.+/));
    it("a record endpoint inside the cluster's own ranges", () => refuses((d) => (d.profile.record.endpoint = "10.96.0.10/32"), /record\.endpoint/, /private endpoint/));
  });

  describe("fleet", () => {
    it("N members from one spec: distinct namespaces and ids, per-member overrides, distinct gate addresses, nothing writable shared", () => {
      const r = renderStack("k8s-fleet");
      assert.strictEqual(r.members.length, r.profile.fleet.count);
      const ids = r.members.map((m) => m.ctx.identity.id);
      assert.strictEqual(new Set(ids).size, ids.length);
      const gates = r.members.map((m) => m.ctx.addresses.gate);
      assert.strictEqual(new Set(gates).size, gates.length, "two members share a gate address");
      const env = (i: number) => Object.fromEntries(podOf(r.members[i].objects, "workload").spec.containers[0].env.map((e: any) => [e.name, e.value]));
      assert.strictEqual(env(7).SEED, "1234");
      assert.strictEqual(env(1).SEED, undefined);
      for (const m of r.members) for (const o of m.objects.slice(1)) assert.strictEqual(o.metadata.namespace, m.objects[0].metadata.name);
      assert.ok(r.cluster.every((o) => o.kind === "RuntimeClass"), "the only shared objects are RuntimeClasses (read-only to sandboxes)");
    });
  });
});

// The fleet graph's speed-up (components/invariants/mock-stack-capture.ts) must stay inside one mock
// build: Pulumi's source positions and the program's own error stacks are back afterwards.
describe("mock graph builds without the SDK's stack capture", () => {
  it("restores Pulumi's stack capture after a build, and the program's own errors keep their stacks", async () => {
    const pulumi = require("@pulumi/pulumi");
    const { buildGraph } = require("../components/invariants/mock-graph");
    const before = pulumi.Resource.stackTrace;
    let thrown: Error | undefined;
    let sawTrace: unknown[] | undefined;
    await buildGraph(async () => {
      sawTrace = pulumi.Resource.stackTrace(0);
      const err = new Error("the program's own failure");
      thrown = err;
      throw err;
    }).catch(() => undefined);
    assert.deepStrictEqual(sawTrace, [], "inside the build the SDK captures no source positions");
    assert.match(String(thrown?.stack), /\n\s+at /, "an error of the program still has its frames");
    assert.strictEqual(pulumi.Resource.stackTrace, before, "Resource.stackTrace restored");
    assert.ok(pulumi.Resource.stackTrace(0).length > 0, "outside a build the SDK captures positions again");
  });
});

describe("airlock check refuses a Kubernetes stack whose guard, gate or workload image is given by tag", () => {
  it("exits non-zero naming images.guard and the digest fix, before building anything", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-k8s-tag-"));
    try {
      const src = fs.readFileSync(path.join(__dirname, "..", "stacks", "Pulumi.k8s.yaml"), "utf8");
      const tagged = src.replace(/guard: (\S+)@sha256:[0-9a-f]{64}/, "guard: $1:0.1.0");
      assert.notStrictEqual(tagged, src, "the stack names a pinned guard image to replace");
      const file = path.join(dir, "Pulumi.k8s-tagged.yaml");
      fs.writeFileSync(file, tagged);
      const r = await runCli(["check", "--file", file], { env: { AIRLOCK_QUIET: "1" } });
      assert.notStrictEqual(r.code, 0, r.stdout);
      assert.match(r.stderr + r.stdout, /images\.guard/);
      assert.match(r.stderr + r.stdout, /sha256/);
      // The gate's and the workload's images by tag: refused the same way, naming their own fields.
      for (const [field, re] of [["images.gate", /(gate: \S+?)@sha256:[0-9a-f]{64}/], ["workload.image", /(image: registry\.example\.org\/evals\/harness:\S+?)@sha256:[0-9a-f]{64}/]] as const) {
        const other = src.replace(re, "$1");
        assert.notStrictEqual(other, src, `the stack names a pinned ${field} to replace`);
        fs.writeFileSync(file, other);
        const t = await runCli(["check", "--file", file], { env: { AIRLOCK_QUIET: "1" } });
        assert.notStrictEqual(t.code, 0, t.stdout);
        assert.ok((t.stderr + t.stdout).includes(field), `${field} not named: ${t.stderr}`);
        assert.match(t.stderr + t.stdout, /crane digest/);
      }
      const ok = await runCli(["check", "--stack", "k8s"], { env: { AIRLOCK_QUIET: "1" } });
      assert.strictEqual(ok.code, 0, `the control: the pinned stack passes: ${ok.stderr}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
