// The in-guest guard as each VM backend delivers it (issue 8 §2; components/cloud/boot.ts): the
// recorded resource inputs of every VM stack (mock runtime) install and start the guard from that
// cloud's artifacts store, before the workload, with every kill rule of the spec; the artifacts are
// uploaded by the stack and readable by the workload's identity. Then the one cloud-specific part of
// the scripts — how a file reaches the record store and how an artifact comes out of the artifacts
// store — is run for real in bash, against stand-ins for the cloud CLIs on PATH.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync, spawnSync } from "child_process";
import { buildStackGraph, one, ofType, policyOf } from "./helpers/pulumi-mocks";
import type { StackGraph } from "../components/invariants/mock-graph";
import type { GraphNode } from "../components/invariants/graph";
import { GUARD_UNIT, readGuardInstall } from "../components/guest/install";
import { awsStoreAccess } from "../components/aws/store-access";
import { gcpStoreAccess } from "../components/gcp/store-access";
import { azureStoreAccess } from "../components/azure/store-access";
import { recordPut, RECORD_PUT, StoreAccess } from "../components/cloud/boot";

interface Backend {
  stack: string;
  machine: string;
  script(w: GraphNode): string;
  gateIp(g: StackGraph): string;
  /** The artifacts store's objects by key. */
  storedKeys(g: StackGraph): string[];
  /** The workload's identity may read those keys. */
  workloadReads(g: StackGraph, key: string): boolean;
}

const BACKENDS: Backend[] = [
  {
    stack: "aws",
    machine: "aws:ec2/instance:Instance",
    script: (w) => String(w.inputs.userData),
    gateIp: (g) => one(g.graph, "aws:ec2/instance:Instance", "gate").inputs.privateIp,
    storedKeys: (g) => ofType(g.graph, "aws:s3/bucketObjectv2:BucketObjectv2").filter((o) => o.inputs.bucket === one(g.graph, "aws:s3/bucket:Bucket", "artifacts").id).map((o) => o.inputs.key),
    workloadReads: (g, key) => {
      const bucket = one(g.graph, "aws:s3/bucket:Bucket", "artifacts").state.bucket;
      return policyOf(one(g.graph, "aws:iam/rolePolicy:RolePolicy", "workload-policy")).Statement.some(
        (s: any) => s.Effect === "Allow" && [].concat(s.Action).includes("s3:GetObject" as never) && [].concat(s.Resource).some((r: string) => r === `arn:aws:s3:::${bucket}/*` || r === `arn:aws:s3:::${bucket}/${key}`),
      );
    },
  },
  {
    stack: "gcp",
    machine: "gcp:compute/instance:Instance",
    script: (w) => String(w.inputs.metadata["startup-script"]),
    gateIp: (g) => one(g.graph, "gcp:compute/instance:Instance", "gate").inputs.networkInterfaces[0].networkIp,
    storedKeys: (g) => ofType(g.graph, "gcp:storage/bucketObject:BucketObject").filter((o) => o.inputs.bucket === one(g.graph, "gcp:storage/bucket:Bucket", "artifacts").state.name).map((o) => o.inputs.name),
    workloadReads: (g) => {
      const bucket = one(g.graph, "gcp:storage/bucket:Bucket", "artifacts").state.name;
      const sa = one(g.graph, "gcp:serviceaccount/account:Account", "workload-sa").state.email;
      return ofType(g.graph, "gcp:storage/bucketIAMMember:BucketIAMMember").some((m) => m.inputs.bucket === bucket && m.inputs.member === `serviceAccount:${sa}` && m.inputs.role === "roles/storage.objectViewer" && !m.inputs.condition);
    },
  },
  {
    stack: "azure",
    machine: "azure-native:compute:VirtualMachine",
    script: (w) => Buffer.from(String(w.inputs.osProfile.customData), "base64").toString("utf8"),
    gateIp: (g) => one(g.graph, "azure-native:network:NetworkInterface", "gate-nic").inputs.ipConfigurations[0].privateIPAddress,
    storedKeys: (g) => ofType(g.graph, "azure-native:storage:Blob").filter((b) => b.inputs.containerName === "artifacts").map((b) => b.inputs.blobName),
    workloadReads: (g) => {
      const container = ofType(g.graph, "azure-native:storage:BlobContainer").find((c) => c.inputs.containerName === "artifacts")!;
      const uai = one(g.graph, "azure-native:managedidentity:UserAssignedIdentity", "workload-id");
      return ofType(g.graph, "azure-native:authorization:RoleAssignment").some((a) => a.inputs.principalId === uai.state.principalId && a.inputs.scope === container.id);
    },
  },
];

for (const b of BACKENDS) {
  describe(`${b.stack}: the workload's first-boot script installs the guest guard (recorded resource inputs)`, () => {
    let built: StackGraph;
    let script: string;
    before(async function () {
      this.timeout(300_000);
      built = await buildStackGraph(b.stack);
      script = b.script(one(built.graph, b.machine, "workload"));
    });

    it("is valid bash, installs the guard completely and starts it before the workload", () => {
      execFileSync("bash", ["-n"], { input: script });
      const r = readGuardInstall(script);
      assert.deepStrictEqual(r.missing, []);
      const lines = script.split("\n");
      const guardStarted = lines.indexOf(`systemctl enable --now ${GUARD_UNIT}`);
      const workloadStarted = lines.indexOf("systemctl enable --now workload.service");
      assert.ok(guardStarted > 0 && workloadStarted > guardStarted, `guard at line ${guardStarted}, workload at ${workloadStarted}`);
      // Unit ordering too: the workload's unit requires the guard, is ordered after it and stops with it.
      for (const want of [`Requires=${GUARD_UNIT}`, `After=${GUARD_UNIT}`, `BindsTo=${GUARD_UNIT}`]) assert.ok(lines.includes(want), want);
      assert.doesNotMatch(script, /instance-expiry/, "the workload's TTL is its guard's (no boot timer)");
    });

    it("gives the guard every kill rule, limit and canary of the spec, the gate's address and the platform's expiry", () => {
      const { spec } = built;
      const c = readGuardInstall(script).config!;
      assert.deepStrictEqual(c.rules, spec.unsafe.canaryAlertOnly ? spec.killSwitch.rules.filter((r) => r.on !== "canary") : spec.killSwitch.rules);
      assert.ok(spec.killSwitch.rules.length >= 4, "the stack's spec names the kill rules");
      assert.strictEqual(c.workload.user, spec.workload.user);
      assert.strictEqual(c.workload.pids, spec.workload.pids);
      for (const f of spec.canaries.files) assert.ok(c.canaries.files.includes(f), `canary ${f}`);
      const gateIp = b.gateIp(built);
      assert.ok(c.nft.gate.length >= 1, JSON.stringify(c.nft.gate));
      // Every gate entry is the gate: the metadata server is reached through the metadata filter, not a gate entry.
      for (const g of c.nft.gate) assert.strictEqual(g.address, gateIp, `${g.upstream} goes to the gate`);
      assert.ok(c.ttl === spec.ttl && Math.abs(Date.parse(c.expiresAt) - Date.now() - spec.ttlMs) < 120_000, `expires ${c.expiresAt} (ttl ${spec.ttl})`);
      assert.strictEqual(c.record.ship[0], RECORD_PUT);
    });

    it("fetches the guard from this sandbox's artifacts store, which the stack fills and the workload may read", () => {
      const stored = b.storedKeys(built);
      for (const key of readGuardInstall(script).fetches) {
        assert.ok(stored.includes(key), `${key} is uploaded (stored: ${stored.join(", ")})`);
        assert.ok(b.workloadReads(built, key), `the workload's identity may read ${key}`);
      }
      assert.strictEqual(readGuardInstall(script).fetches.length, 2);
    });
  });
}

describe("the stores' shell commands, run in bash against stand-ins for the cloud CLIs", () => {
  let dir: string;
  let bin: string;
  let calls: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-vm-boot-"));
    bin = path.join(dir, "bin");
    calls = path.join(dir, "calls.log");
    fs.mkdirSync(bin);
    // aws s3 cp SRC DST ...: the object store is the directory $STORE (s3://b/k -> $STORE/b/k).
    fs.writeFileSync(path.join(bin, "aws"), `#!/bin/bash\nset -e\necho "aws $*" >> "${calls}"\n[ "$1 $2" = "s3 cp" ] || exit 3\nsrc=$3 dst=$4\nif [[ $dst == s3://* ]]; then mkdir -p "$(dirname "$STORE/\${dst#s3://}")"; cp "$src" "$STORE/\${dst#s3://}"; else cp "$STORE/\${src#s3://}" "$dst"; fi\n`, { mode: 0o755 });
    // curl: a token request answers a token; an upload (--data-binary @F) or download (-o D) uses $STORE/<host+path+name>.
    fs.writeFileSync(
      path.join(bin, "curl"),
      `#!/bin/bash\nset -e\necho "curl $*" >> "${calls}"\nurl= data= out= auth=\nwhile [ $# -gt 0 ]; do case "$1" in --data-binary) data=\${2#@}; shift;; -o) out=$2; shift;; -H) [[ $2 == Authorization:* ]] && auth=$2; shift;; --connect-to|-X|--retry) shift;; http*) url=$1;; esac; shift; done\nif [[ $url == *token* ]]; then echo '{"access_token":"tok-123","expires_in":3599}'; exit 0; fi\n[ "$auth" = "Authorization: Bearer tok-123" ] || { echo "no token: $auth" >&2; exit 22; }\nkey=$(echo "$url" | sed -e 's#^https://##' -e 's#[?]uploadType=media&name=#/#' -e 's#[?]alt=media##' -e 's#%2F#/#g')\nif [ -n "$data" ]; then mkdir -p "$(dirname "$STORE/$key")"; cp "$data" "$STORE/$key"; elif [ -n "$out" ]; then cp "$STORE/$key" "$out"; fi\n`,
      { mode: 0o755 },
    );
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const cases: { cloud: string; access: StoreAccess; recordAt: (name: string) => string; artifactAt: (key: string) => string }[] = [
    { cloud: "aws", access: awsStoreAccess({ region: "us-east-2", logBucket: "rec", logPrefix: "instances/workload/", artifactsBucket: "files" }), recordAt: (n) => `rec/instances/workload/${n}`, artifactAt: (k) => `files/${k}` },
    {
      cloud: "gcp",
      access: gcpStoreAccess({ logBucket: "rec", logPrefix: "instances/workload/", storageVia: "10.77.64.10:9443", artifactsBucket: "files" }),
      recordAt: (n) => `storage.googleapis.com/upload/storage/v1/b/rec/o/instances/workload/${n}`,
      artifactAt: (k) => `storage.googleapis.com/storage/v1/b/files/o/${k}`,
    },
    {
      cloud: "azure",
      access: azureStoreAccess({ clientId: "cid", blobEndpoint: "https://acct.blob.core.windows.net/", recordContainer: "record", logPrefix: "instances/workload/", artifactsContainer: "artifacts" }),
      recordAt: (n) => `acct.blob.core.windows.net/record/instances/workload/${n}`,
      artifactAt: (k) => `acct.blob.core.windows.net/artifacts/${k}`,
    },
  ];
  for (const c of cases) {
    it(`${c.cloud}: record-put ships a guard entry from stdin, and an artifact comes out of the store`, () => {
      const store = path.join(dir, `store-${c.cloud}`);
      fs.mkdirSync(store);
      const helper = path.join(dir, `record-put-${c.cloud}`);
      // The helper exactly as the script writes it, written to a scratch path instead of RECORD_PUT.
      execFileSync("bash", ["-euc", recordPut(c.access).split(RECORD_PUT).join(helper)]);
      const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, STORE: store };
      const entry = '{"seq":3,"type":"kill","data":{"rule":"oom"}}\n';
      // The guard's ship argv: [RECORD_PUT, "-", "guard/{seq}-{type}.json"] with the entry on stdin.
      const r = spawnSync(helper, ["-", "guard/00000003-kill.json"], { input: entry, env, encoding: "utf8" });
      assert.strictEqual(r.status, 0, r.stderr);
      assert.strictEqual(fs.readFileSync(path.join(store, c.recordAt("guard/00000003-kill.json")), "utf8"), entry);
      // A failed upload fails the helper (the guard then retries, never skips).
      const failing = spawnSync(helper, ["-", "guard/x.json"], { input: entry, env: { ...env, STORE: path.join(calls, "not-a-directory") }, encoding: "utf8" });
      assert.notStrictEqual(failing.status, 0, "an upload that fails is reported");

      fs.mkdirSync(path.dirname(path.join(store, c.artifactAt("guest/node"))), { recursive: true });
      fs.writeFileSync(path.join(store, c.artifactAt("guest/node")), "ELF-stand-in");
      const dest = path.join(dir, `node-${c.cloud}`);
      const get = spawnSync("bash", ["-euc", [...(c.access.prelude ? [c.access.prelude] : []), c.access.getArtifact("guest/node", dest)].join("\n")], { env, encoding: "utf8" });
      assert.strictEqual(get.status, 0, get.stderr);
      assert.strictEqual(fs.readFileSync(dest, "utf8"), "ELF-stand-in");
    });
  }
});
