// GcpSandbox, built through the real Pulumi program (index.ts) under mocks from the stack files.
// Every assertion reads the inputs a deploy would send to GCP, as recorded by the mock runtime; the
// labelled-type list is checked against the @pulumi/gcp .d.ts files, not against the component.
import * as assert from "assert";
import { readGuardInstall } from "../components/guest/install";
import * as fs from "fs";
import * as path from "path";
import { buildStackGraph, buildVariant, one, ofType, GraphRecorder, PROJECT_ROOT } from "./helpers/pulumi-mocks";
import type { StackGraph } from "../components/invariants/mock-graph";
import type { GraphNode } from "../components/invariants/graph";
import { SpecError } from "../components/spec";
import { expiryLabelValue, LABEL_KEYS } from "../components/naming";
import { checkInvariants } from "../components/invariants";
import { gcpLabelFields } from "../components/gcp/labels";

const T = {
  network: "gcp:compute/network:Network",
  subnet: "gcp:compute/subnetwork:Subnetwork",
  route: "gcp:compute/route:Route",
  firewall: "gcp:compute/firewall:Firewall",
  instance: "gcp:compute/instance:Instance",
  account: "gcp:serviceaccount/account:Account",
  bucket: "gcp:storage/bucket:Bucket",
  bucketMember: "gcp:storage/bucketIAMMember:BucketIAMMember",
  projectMember: "gcp:projects/iAMMember:IAMMember",
  sink: "gcp:logging/projectSink:ProjectSink",
  zone: "gcp:dns/managedZone:ManagedZone",
  responseRule: "gcp:dns/responsePolicyRule:ResponsePolicyRule",
  workflow: "gcp:workflows/workflow:Workflow",
  key: "gcp:serviceaccount/key:Key",
};

/** Whether a type's Args declare `labels` or `userLabels`, read from node_modules/@pulumi/gcp/<module>/<file>.d.ts. */
function argsHaveLabels(type: string): boolean {
  const [, modulePath, className] = type.split(":");
  const [module, file] = modulePath.split("/");
  const dir = path.join(PROJECT_ROOT, "node_modules", "@pulumi", "gcp", module);
  const name = fs.readdirSync(dir).find((f) => f.toLowerCase() === `${file.toLowerCase()}.d.ts`);
  assert.ok(name, `no ${file}.d.ts in @pulumi/gcp/${module}`);
  const dts = fs.readFileSync(path.join(dir, name!), "utf8");
  const start = dts.indexOf(`export interface ${className}Args {`);
  assert.ok(start >= 0, `no ${className}Args in ${module}/${name}`);
  return /^    (labels|userLabels)\?:/m.test(dts.slice(start, dts.indexOf("\n}", start)));
}

describe("GcpSandbox (stack gcp, recorded resource inputs)", () => {
  let built: StackGraph;
  let workload: GraphNode, gate: GraphNode, target: GraphNode;
  const rule = (suffix: string) => one(built.graph, T.firewall, `fw-${suffix}`);

  before(async function () {
    this.timeout(120_000);
    built = await buildStackGraph("gcp");
    workload = one(built.graph, T.instance, "workload");
    gate = one(built.graph, T.instance, "gate");
    target = one(built.graph, T.instance, "target-vuln-webapp");
  });

  it("registers everything inside one airlock:gcp:Sandbox component", () => {
    const component = built.graph.nodes.filter((n) => n.type === "airlock:gcp:Sandbox");
    assert.strictEqual(component.length, 1);
    const outside = built.graph.resources.filter((n) => !n.urn.includes("airlock:gcp:Sandbox"));
    assert.deepStrictEqual(outside.map((n) => n.name), []);
  });

  it("network: no auto subnets, default routes deleted, only the restricted-VIP route", () => {
    const net = one(built.graph, T.network, "vpc");
    assert.strictEqual(net.inputs.autoCreateSubnetworks, false);
    assert.strictEqual(net.inputs.deleteDefaultRoutesOnCreate, true);
    assert.deepStrictEqual(ofType(built.graph, T.route).map((r) => [r.inputs.destRange, r.inputs.nextHopGateway]), [["199.36.153.4/30", "default-internet-gateway"]]);
    for (const bad of ["gcp:compute/router:Router", "gcp:compute/routerNat:RouterNat", "gcp:compute/networkPeering:NetworkPeering"]) assert.strictEqual(ofType(built.graph, bad).length, 0, bad);
  });

  it("subnets: Private Google Access and flow logs of every flow at 5 s with all metadata", () => {
    const subnets = ofType(built.graph, T.subnet);
    assert.strictEqual(subnets.length, 3);
    for (const s of subnets) {
      assert.strictEqual(s.inputs.privateIpGoogleAccess, true, s.name);
      assert.deepStrictEqual(s.inputs.logConfig, { aggregationInterval: "INTERVAL_5_SEC", flowSampling: 1, metadata: "INCLUDE_ALL_METADATA" }, s.name);
    }
  });

  it("firewall: logged deny-all egress and ingress at the lowest custom priority, every rule logged", () => {
    for (const [suffix, direction, ranges] of [["deny-egress", "EGRESS", "destinationRanges"], ["deny-ingress", "INGRESS", "sourceRanges"]] as const) {
      const r = rule(suffix);
      assert.strictEqual(r.inputs.direction, direction);
      assert.strictEqual(r.inputs.priority, 65534, "above the implied rules (65535), below every allow");
      assert.deepStrictEqual(r.inputs.denies, [{ protocol: "all" }]);
      assert.deepStrictEqual(r.inputs[ranges], ["0.0.0.0/0"]);
      assert.strictEqual(r.inputs.targetServiceAccounts, undefined, "applies to every instance");
    }
    for (const r of ofType(built.graph, T.firewall)) assert.ok(r.inputs.logConfig?.metadata, `${r.name} is logged`);
    const allows = ofType(built.graph, T.firewall).filter((r) => r.inputs.allows);
    for (const r of allows) assert.ok(r.inputs.priority < 65534 && r.inputs.allows.every((a: any) => a.protocol === "tcp" && a.ports?.length), `${r.name}: narrow tcp allow above the deny`);
  });

  it("firewall: allows keyed by service account — workload to the gate's listeners only; the gate to the VIP and the target", () => {
    const sa = (i: GraphNode) => i.inputs.serviceAccount.email;
    const toGate = rule("workload-to-gate");
    assert.deepStrictEqual(toGate.inputs.targetServiceAccounts, [sa(workload)]);
    assert.deepStrictEqual(toGate.inputs.destinationRanges, [`${gate.inputs.networkInterfaces[0].networkIp}/32`]);
    // Listener ports: the spec's model-api (443), target-web (8080), and the record listener.
    assert.deepStrictEqual(toGate.inputs.allows[0].ports, ["443", "8080", "9443"]);
    assert.deepStrictEqual(rule("gate-to-google-apis").inputs.targetServiceAccounts, [sa(gate)]);
    assert.deepStrictEqual(rule("gate-to-targets").inputs.destinationRanges, [`${target.inputs.networkInterfaces[0].networkIp}/32`]);
    assert.deepStrictEqual(rule("targets-from-gate").inputs.sourceServiceAccounts, [sa(gate)]);
    // No rule names the workload's account as a source towards the targets, nor the targets' as a destination of the workload.
    const workloadRules = ofType(built.graph, T.firewall).filter((r) => (r.inputs.targetServiceAccounts ?? []).includes(sa(workload)));
    assert.deepStrictEqual(workloadRules.map((r) => r.name.replace(/^.*-fw-/, "")), ["workload-to-gate"]);
  });

  it("instances: no external IP, Shielded VM, OS Login, serial off, block-project-ssh-keys, own service account", () => {
    const accounts = new Set(ofType(built.graph, T.account).map((a) => a.state.email));
    const emails = new Set<string>();
    for (const i of [workload, gate, target]) {
      const ni = i.inputs.networkInterfaces;
      assert.strictEqual(ni.length, 1);
      assert.strictEqual(ni[0].accessConfigs, undefined, `${i.name}: no external IP`);
      assert.deepStrictEqual(i.inputs.shieldedInstanceConfig, { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true });
      assert.strictEqual(i.inputs.metadata["enable-oslogin"], "TRUE");
      assert.strictEqual(i.inputs.metadata["serial-port-enable"], "FALSE");
      assert.strictEqual(i.inputs.metadata["block-project-ssh-keys"], "TRUE");
      assert.strictEqual(i.inputs.metadata["ssh-keys"], undefined);
      assert.ok(accounts.has(i.inputs.serviceAccount.email), `${i.name}: a service account the sandbox creates (never the default compute one)`);
      emails.add(i.inputs.serviceAccount.email);
    }
    assert.strictEqual(emails.size, 3, "one service account per instance");
    assert.deepStrictEqual(target.inputs.serviceAccount.scopes, []);
  });

  it("identities: no project roles for instance accounts; bucket grants limited to the instance's own record prefix", () => {
    const instanceMembers = new Set([workload, gate, target].map((i) => `serviceAccount:${i.inputs.serviceAccount.email}`));
    assert.deepStrictEqual(ofType(built.graph, T.projectMember).filter((m) => instanceMembers.has(m.inputs.member)), []);
    const appends = ofType(built.graph, T.bucketMember).filter((m) => m.inputs.role === "roles/storage.objectCreator" && instanceMembers.has(m.inputs.member));
    assert.strictEqual(appends.length, 2, "workload and gate append; the target (no egress) does not");
    for (const m of appends) assert.match(m.inputs.condition.expression, /^resource\.name\.startsWith\("projects\/_\/buckets\/[^/]+\/objects\/instances\/(workload|gate)\/"\)$/);
  });

  it("workload runs the command as the non-root user through the gate, with the canary files planted", () => {
    const script: string = workload.inputs.metadata["startup-script"];
    assert.match(script, /^User=agent$/m);
    assert.match(script, /useradd --create-home --shell \/bin\/bash 'agent'/);
    assert.match(script, /model-api us-central1-aiplatform\.googleapis\.com target-web/);
    assert.match(script, /--connect-to 'storage\.googleapis\.com:443:10\.77\.64\.10:9443'/, "the workload's record goes through the gate");
    for (const f of [".aws/credentials", ".ssh/id_ed25519", ".config/gcloud/ops-admin-service-account.json"]) assert.ok(script.includes(`cat > '/home/agent/${f}'`), f);
    assert.ok(script.includes('"type": "service_account"') || script.includes('"type":"service_account"'), "the canary key file is the key of the canary account");
  });

  it("TTL: terminationTime at the expiry with DELETE on every instance, standard provisioning, no restart", () => {
    const expiry = built.graph.resources.find((n) => n.type === T.bucket)!.inputs.labels[LABEL_KEYS.gcp.expiresAt];
    for (const i of [workload, gate, target]) {
      const s = i.inputs.scheduling;
      assert.strictEqual(s.instanceTerminationAction, "DELETE");
      assert.strictEqual(s.provisioningModel, "STANDARD");
      assert.strictEqual(s.onHostMaintenance, "TERMINATE");
      assert.strictEqual(s.automaticRestart, false);
      // The label spells the same instant in GCP's label alphabet.
      assert.strictEqual(s.terminationTime.toLowerCase().replace(/:/g, "-"), expiry);
    }
    // The in-guest TTL too: the workload's guard powers off at the same instant (the gate keeps its boot timer).
    const guardAt = Date.parse(readGuardInstall(workload.inputs.metadata["startup-script"]).config!.expiresAt);
    assert.ok(Math.abs(guardAt - Date.parse(workload.inputs.scheduling.terminationTime)) < 1000, "the guard's expiry is the platform's");
    assert.match(gate.inputs.metadata["startup-script"], /OnBootSec=14400s/);
  });

  describe("I7 reads GCP's lowercase expiry label and compares it with the platform TTL", () => {
    const HOUR = 3_600_000;
    const i7Of = (g: typeof built.graph) => checkInvariants(g, built.spec).find((v) => v.id === "I7")!;
    const ttlMismatch = /TTL fires at .*, the labels say /;

    it("the control: the stack as built passes I7", () => assert.deepStrictEqual([i7Of(built.graph).status, i7Of(built.graph).findings], ["pass", []]));

    it("fails when an instance's termination time disagrees with the expiry label", () => {
      const g = built.graph.clone();
      const w = g.resources.find((n) => n.id === workload.id)!;
      w.inputs.scheduling = { ...w.inputs.scheduling, terminationTime: new Date(Date.parse(w.inputs.scheduling.terminationTime) + HOUR).toISOString() };
      const v = i7Of(g);
      assert.strictEqual(v.status, "fail");
      assert.deepStrictEqual(v.findings.filter((f) => ttlMismatch.test(f.message)).map((f) => f.resource.endsWith("-workload")), [true], JSON.stringify(v.findings));
    });

    it("fails when every expiry label (consistently) says a later time than the termination times", () => {
      const g = built.graph.clone();
      const later = expiryLabelValue(new Date(Date.parse(workload.inputs.scheduling.terminationTime) + HOUR), "gcp");
      for (const n of g.resources) for (const field of gcpLabelFields(n.type)) if (n.inputs[field]) n.inputs[field] = { ...n.inputs[field], [LABEL_KEYS.gcp.expiresAt]: later };
      const v = i7Of(g);
      assert.strictEqual(v.status, "fail");
      // One finding per instance, each naming the label's instant; no "different expiries" (they agree).
      const mismatches = v.findings.filter((f) => ttlMismatch.test(f.message));
      assert.strictEqual(mismatches.length, ofType(built.graph, T.instance).length, JSON.stringify(v.findings));
      for (const f of mismatches) assert.ok(f.message.endsWith(new Date(Date.parse(workload.inputs.scheduling.terminationTime) + HOUR).toISOString()), f.message);
    });

    it("fails when the expiry label is not one Airlock writes (it could not be compared)", () => {
      const g = built.graph.clone();
      for (const n of g.resources) for (const field of gcpLabelFields(n.type)) if (n.inputs[field]) n.inputs[field] = { ...n.inputs[field], [LABEL_KEYS.gcp.expiresAt]: "tomorrow" };
      const v = i7Of(g);
      assert.strictEqual(v.status, "fail");
      assert.ok(v.findings.some((f) => /expiry label 'tomorrow' is not an expiry Airlock writes/.test(f.message)), JSON.stringify(v.findings));
    });
  });

  it("record: uniform access, public access prevention, locked retention of the spec's days, IP filter to the network, retained", () => {
    const record = one(built.graph, T.bucket, "record");
    assert.strictEqual(record.inputs.uniformBucketLevelAccess, true);
    assert.strictEqual(record.inputs.publicAccessPrevention, "enforced");
    assert.deepStrictEqual(record.inputs.retentionPolicy, { retentionPeriod: String(90 * 86400), isLocked: true });
    assert.strictEqual(record.inputs.ipFilter.mode, "Enabled");
    assert.deepStrictEqual(record.inputs.ipFilter.vpcNetworkSources.map((s: any) => s.network), [one(built.graph, T.network, "vpc").id]);
    const sink = one(built.graph, T.sink, "record-sink");
    assert.strictEqual(sink.inputs.destination, `storage.googleapis.com/${record.state.name}`);
    assert.strictEqual(sink.inputs.uniqueWriterIdentity, true);
    for (const part of ["vpc_flows", "compute.googleapis.com/firewall", "cloudaudit.googleapis.com"]) assert.ok(sink.inputs.filter.includes(part), part);
    const writer = ofType(built.graph, T.bucketMember).filter((m) => m.inputs.member === sink.state.writerIdentity);
    assert.deepStrictEqual(writer.map((m) => m.inputs.role), ["roles/storage.objectCreator"]);
  });

  it("DNS: googleapis.com private zone to the restricted VIP, a catch-all answered locally", () => {
    assert.strictEqual(one(built.graph, T.zone, "googleapis-zone").inputs.visibility, "private");
    const catchAll = one(built.graph, T.responseRule, "dns-catch-all");
    assert.strictEqual(catchAll.inputs.dnsName, "*.");
    assert.ok(catchAll.inputs.localData);
  });

  it("kill path: a workflow that stops the workload, destroyable, run by its own account", () => {
    const wf = one(built.graph, T.workflow, "kill-workflow");
    assert.strictEqual(wf.inputs.deletionProtection, false);
    assert.match(wf.inputs.sourceContents, new RegExp(`call: googleapis\\.compute\\.v1\\.instances\\.stop[\\s\\S]*instance: ${workload.state.name}$`, "m"));
  });

  it("labels: the three sandbox labels (lowercase, no ':') on every labelled resource; the labelled list matches the SDK", () => {
    const keys = Object.values(LABEL_KEYS.gcp);
    const { isGcpLabelled, gcpLabelFields } = require("../components/gcp/labels");
    for (const n of built.graph.resources.filter((x) => x.type.startsWith("gcp:"))) {
      assert.strictEqual(isGcpLabelled(n.type), argsHaveLabels(n.type), `${n.type}: labelled list vs @pulumi/gcp .d.ts`);
      if (!isGcpLabelled(n.type)) continue;
      const labels = n.inputs[gcpLabelFields(n.type)[0]];
      for (const k of keys) assert.ok(labels?.[k], `${n.type}::${n.name} lacks ${k}`);
      for (const [k, v] of Object.entries(labels as Record<string, string>)) assert.match(`${k}=${v}`, /^[a-z0-9_-]+=[a-z0-9_.-]*$/, `${n.name}: ${k}=${v}`);
    }
    assert.ok(workload.inputs.bootDisk.initializeParams.labels[LABEL_KEYS.gcp.sandbox], "the boot disk is labelled too");
  });
});

describe("GcpSandbox TEE stacks", () => {
  it("gcp-tee: SEV_SNP on N2D with AMD Milan, TERMINATE on maintenance, NVMe boot disk", async function () {
    this.timeout(120_000);
    const w = one((await buildStackGraph("gcp-tee")).graph, T.instance, "workload");
    assert.deepStrictEqual(w.inputs.confidentialInstanceConfig, { confidentialInstanceType: "SEV_SNP" });
    assert.strictEqual(w.inputs.minCpuPlatform, "AMD Milan");
    assert.strictEqual(w.inputs.machineType, "n2d-standard-4");
    assert.strictEqual(w.inputs.scheduling.onHostMaintenance, "TERMINATE");
    assert.strictEqual(w.inputs.bootDisk.interface, "NVME");
  });

  it("gcp-tdx: TDX on C3", async function () {
    this.timeout(120_000);
    const w = one((await buildStackGraph("gcp-tdx")).graph, T.instance, "workload");
    assert.deepStrictEqual(w.inputs.confidentialInstanceConfig, { confidentialInstanceType: "TDX" });
    assert.strictEqual(w.inputs.machineType, "c3-standard-4");
    assert.strictEqual(w.inputs.minCpuPlatform, undefined);
  });
});

describe("GcpSandbox refuses invalid combinations before anything is registered", () => {
  const cases: [string, string, (d: any) => void, string, RegExp][] = [
    ["tdx on an AMD machine type", "gcp-tdx", (d) => (d.workload.machineType = "n2d-standard-4"), "workload.machineType", /not offered on N2D \(an AMD machine; TDX is Intel\)/],
    ["sev-snp without AMD Milan (C3D is Genoa)", "gcp-tee", (d) => (d.workload.machineType = "c3d-standard-4"), "workload.machineType", /SEV-SNP needs N2D on AMD Milan/],
    ["nitro-enclave on GCP", "gcp", (d) => (d.confidential = "nitro-enclave"), "confidential", /does not offer 'nitro-enclave'/],
    ["sev-snp in a region without it", "gcp-tee", (d) => (d.region = "us-west1"), "region", /offered only in us-central1, europe-west4, asia-southeast1/],
    ["a Google API that would need a project role", "gcp", (d) => (d.egress.allow[0].service = "bigquery"), "egress.allow[0].service", /would need a project role/],
  ];
  for (const [title, stack, change, field, message] of cases) {
    it(title, async function () {
      this.timeout(120_000);
      const recorder = new GraphRecorder();
      let error: any;
      await buildVariant(stack, change, recorder).catch((e) => (error = e));
      assert.ok(error instanceof SpecError, `a SpecError, got ${error}`);
      assert.strictEqual(error.issues.length, 1, JSON.stringify(error.issues));
      const [issue] = error.issues;
      assert.strictEqual(issue.path, field);
      assert.match(issue.message, message);
      assert.match(issue.fix, /use /, "names the valid choices");
      assert.deepStrictEqual(recorder.nodes.filter((n) => n.type !== "pulumi:pulumi:Stack"), []);
    });
  }

  it("refuses a hand-built spec through the component itself (no validation before it)", async function () {
    this.timeout(120_000);
    const { buildGraph } = await import("../components/invariants/mock-graph");
    const { GcpSandbox } = await import("../components/gcp/component");
    const { parseSpec } = await import("../components/spec");
    const { identityFor } = await import("../components/naming");
    const ok = parseSpec(JSON.parse(JSON.stringify(require("./helpers/pulumi-mocks").stackSpecDoc("gcp-tdx"))));
    const bad = { ...ok, workload: { ...ok.workload, machineType: "c2d-standard-4" } };
    const recorder = new GraphRecorder();
    await assert.rejects(
      buildGraph(async () => void new GcpSandbox("bad", { spec: bad, identity: identityFor(bad) }), { recorder, config: { "gcp:project": "p" } }),
      (e: any) => e instanceof SpecError && e.issues.some((i: any) => i.path === "workload.machineType" && i.value === "c2d-standard-4"),
    );
    assert.deepStrictEqual(recorder.nodes.filter((n) => n.type !== "pulumi:pulumi:Stack"), []);
  });
});
