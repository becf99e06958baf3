// The guest firewall's system part as each VM backend delivers it (issue #8; components/cloud/guard.ts
// VmPlatformPaths, filled by components/{aws,gcp,azure}/platform.ts): the guard's config is read back
// out of the workload's recorded first-boot script (Pulumi mocks), and its system list must be exactly
// that cloud's endpoints — worked out here from the graph and the script themselves (the VPC's range,
// the S3 gateway endpoint's cidrBlocks, the address the GCP script connects its store calls to, the
// Azure record endpoint's fixed address) and from the clouds' documented platform addresses. No rule
// reaches "any address", no 443 goes anywhere but the stores, and the metadata server is root's; the
// workload's uid reaches it only through the metadata filter, whose allowlist passes the cloud's
// credential calls and refuses its boot-script paths.
import * as assert from "assert";
import { buildStackGraph, one } from "./helpers/pulumi-mocks";
import type { StackGraph } from "../components/invariants/mock-graph";
import type { GraphNode } from "../components/invariants/graph";
import { readGuardInstall } from "../components/guest/install";
import { GuestAllow, GuestGuardConfig } from "../components/guest/config";
import { guestRuleset } from "../components/guest/nft";
import { vmSystemAllow } from "../components/cloud/guard";
import { metadataRefusal, METADATA_FILTER_UID } from "../components/guest/metadata-filter";

const METADATA = "169.254.169.254";
const root = (proto: "tcp", port: number, address: string): GuestAllow => ({ proto, port, address, uid: 0 });
/** The metadata server for the metadata filter's own uid (its upstream connection; components/guest/metadata-supervisor.ts). */
const filterUpstream: GuestAllow = { proto: "tcp", port: 80, address: "169.254.169.254", uid: METADATA_FILTER_UID };
const any = (proto: "tcp" | "udp", port: number, address: string): GuestAllow => ({ proto, port, address });
const dns = (address: string) => [any("udp", 53, address), any("tcp", 53, address)];

/** base + 2 of an IPv4 CIDR, by hand (not the component's helper). */
function plusTwo(cidr: string): string {
  const [ip, bits] = cidr.split("/");
  const n = ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
  const base = Math.floor(n / 2 ** (32 - Number(bits))) * 2 ** (32 - Number(bits)) + 2;
  return [24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join(".");
}

interface Backend {
  stack: string;
  machine: string;
  script(w: GraphNode): string;
  /** The system list this cloud should give, from the graph and the script. */
  expected(g: StackGraph, script: string): GuestAllow[];
  /** The addresses the system may reach on 443 (the stores' private paths). */
  https(g: StackGraph): string[];
  /** Metadata requests the workload's SDKs make for its credentials and identity (the filter passes them). */
  credentials: [string, string][];
  /** Metadata requests that would hand the workload its boot script (the filter refuses them). */
  bootScript: [string, string][];
}

const BACKENDS: Backend[] = [
  {
    stack: "aws",
    machine: "aws:ec2/instance:Instance",
    script: (w) => String(w.inputs.userData),
    https: (g) => one(g.graph, "aws:ec2/vpcEndpoint:VpcEndpoint", "s3-endpoint").state.cidrBlocks,
    expected(g) {
      const vpc = one(g.graph, "aws:ec2/vpc:Vpc", "vpc").inputs.cidrBlock;
      // The VPC resolver and its link-local alias; Amazon Time Sync; the S3 gateway endpoint's ranges; IMDS for root.
      return [...dns(plusTwo(vpc)), ...dns("169.254.169.253"), any("udp", 123, "169.254.169.123"), ...this.https(g).map((c) => any("tcp", 443, c)), root("tcp", 80, METADATA), filterUpstream];
    },
    credentials: [["PUT", "/latest/api/token"], ["GET", "/latest/meta-data/iam/security-credentials/"], ["GET", "/latest/meta-data/iam/security-credentials/airlock-workload-role"], ["GET", "/latest/meta-data/placement/region"]],
    bootScript: [["GET", "/latest/user-data"], ["GET", "/latest/user-data/"], ["GET", "/latest/meta-data/iam/security-credentials/../../user-data"], ["GET", "/latest/meta-data/iam/security-credentials/%2e%2e/%2e%2e/user-data"], ["GET", "/latest//user-data"], ["GET", "/latest/meta-data/"], ["GET", "/latest/dynamic/instance-identity/document"], ["GET", "http://169.254.169.254/latest/user-data"], ["POST", "/latest/api/token"]],
  },
  {
    stack: "gcp",
    machine: "gcp:compute/instance:Instance",
    script: (w) => String(w.inputs.metadata["startup-script"]),
    https: () => [],
    expected(_g, script) {
      // Where the script's store calls actually go: curl --connect-to storage.googleapis.com:443:<gate>:<port>.
      const via = /--connect-to '?storage\.googleapis\.com:443:(\d+\.\d+\.\d+\.\d+):(\d+)/.exec(script);
      assert.ok(via, "the workload's script reaches Cloud Storage through the gate");
      // The metadata server is the resolver and the time server; IMDS for root.
      return [...dns(METADATA), any("udp", 123, METADATA), any("tcp", Number(via[2]), via[1]), root("tcp", 80, METADATA), filterUpstream];
    },
    credentials: [["GET", "/"], ["GET", "/computeMetadata/v1/instance/service-accounts/default/token"], ["GET", "/computeMetadata/v1/instance/service-accounts/default/token?scopes=https://www.googleapis.com/auth/cloud-platform"], ["GET", "/computeMetadata/v1/instance/service-accounts/default/email"], ["GET", "/computeMetadata/v1/instance/service-accounts/default/?recursive=true"], ["GET", "/computeMetadata/v1/project/project-id"]],
    bootScript: [["GET", "/computeMetadata/v1/instance/attributes/startup-script"], ["GET", "/computeMetadata/v1/instance/attributes/"], ["GET", "/computeMetadata/v1/instance/attributes/?recursive=true"], ["GET", "/computeMetadata/v1/?recursive=true"], ["GET", "/computeMetadata/v1/instance/?recursive=true"], ["GET", "/?recursive=true"], ["GET", "/computeMetadata/v1/project/attributes/"], ["GET", "/0.1/meta-data/attributes/startup-script"], ["GET", "/computeMetadata/v1/instance/service-accounts/default/../../attributes/startup-script"]],
  },
  {
    stack: "azure",
    machine: "azure-native:compute:VirtualMachine",
    script: (w) => Buffer.from(String(w.inputs.osProfile.customData), "base64").toString("utf8"),
    https: (g) => [one(g.graph, "azure-native:network:PrivateEndpoint", "record-pe").inputs.ipConfigurations[0].privateIPAddress],
    expected(g) {
      // Azure's platform address for DNS; no network time (the Hyper-V PTP clock); the record endpoint;
      // IMDS and the wire server (80, 32526) for root only.
      return [...dns("168.63.129.16"), ...this.https(g).map((a) => any("tcp", 443, a)), root("tcp", 80, METADATA), filterUpstream, root("tcp", 80, "168.63.129.16"), root("tcp", 32526, "168.63.129.16")];
    },
    credentials: [["GET", "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fcognitiveservices.azure.com&client_id=00000000-0000-0000-0000-000000000001"]],
    bootScript: [["GET", "/metadata/instance/compute/userData?api-version=2021-01-01&format=text"], ["GET", "/metadata/instance?api-version=2021-02-01"], ["GET", "/metadata/instance/compute/customData?api-version=2021-01-01"], ["GET", "/metadata/identity/oauth2/token/../../instance/compute/userData?api-version=2021-01-01"], ["GET", "/metadata/identity/oauth2/token?api-version=2018-02-01&format=text&extra=1"]],
  },
];

const key = (a: GuestAllow) => `${a.uid === undefined ? "*" : a.uid} ${a.proto} ${a.address}:${a.port}`;
const sorted = (xs: GuestAllow[]) => xs.map(key).sort();

/** The system rules that break issue #8's narrowing, with why (empty: none). */
function widened(c: GuestGuardConfig, https: string[]): string[] {
  const bad: string[] = [];
  for (const a of c.nft.system) {
    if (!a.address) bad.push(`${key(a)}: no address (any)`);
    else if (/\/[0-7]$/.test(a.address)) bad.push(`${key(a)}: wider than /8`);
    if (a.port === 443 && !https.includes(a.address)) bad.push(`${key(a)}: 443 beyond the stores`);
    if (a.address === METADATA && a.port === 80 && a.uid !== 0 && a.uid !== METADATA_FILTER_UID) bad.push(`${key(a)}: the metadata server for a uid but root's and the filter's`);
  }
  return bad;
}

for (const b of BACKENDS) {
  describe(`${b.stack}: the guest firewall lets the workload VM's system reach only the cloud's endpoints (recorded resource inputs)`, () => {
    let built: StackGraph;
    let script: string;
    let config: GuestGuardConfig;
    before(async function () {
      this.timeout(300_000);
      built = await buildStackGraph(b.stack);
      script = b.script(one(built.graph, b.machine, "workload"));
      config = readGuardInstall(script).config!;
    });

    it("lists exactly the cloud's resolver, time, store, metadata (root and the filter's uid) and agent endpoints", () => {
      assert.deepStrictEqual(sorted(config.nft.system), sorted(b.expected(built, script)));
      assert.deepStrictEqual(widened(config, b.https(built)), []);
    });

    it("renders no system accept without an address, and the metadata server for uid 0 and the filter's uid only (which reaches nothing else)", () => {
      const text = guestRuleset(config.nft, 61_337);
      const chain = text.slice(text.indexOf("chain system_out {"), text.indexOf("}", text.indexOf("chain system_out {")));
      const accepts = chain.split("\n").filter((l) => l.includes(" accept"));
      assert.strictEqual(accepts.length, config.nft.system.length);
      for (const l of accepts) assert.match(l, /ip daddr \d+\.\d+\.\d+\.\d+(\/\d+)? (tcp|udp) dport \d+ accept$/, l);
      assert.deepStrictEqual(accepts.filter((l) => l.includes(`ip daddr ${METADATA} tcp dport 80`)).map((l) => l.trim()).sort(), [`meta skuid 0 ip daddr ${METADATA} tcp dport 80 accept`, `meta skuid ${METADATA_FILTER_UID} ip daddr ${METADATA} tcp dport 80 accept`]);
      // The filter's uid: its metadata accept, then a reject before any rule for every system uid.
      const lines = chain.split("\n").map((l) => l.trim());
      const own = lines.indexOf(`meta skuid ${METADATA_FILTER_UID} ip daddr ${METADATA} tcp dport 80 accept`);
      const reject = lines.indexOf(`meta skuid ${METADATA_FILTER_UID} counter name "system_denied" reject with icmpx type admin-prohibited`);
      assert.ok(own >= 0 && reject === own + 1, chain);
      assert.ok(lines.slice(0, reject).every((l) => !l.includes(" accept") || l.startsWith(`meta skuid ${METADATA_FILTER_UID} `)), `nothing else of the system's before the filter uid's reject:\n${chain}`);
    });

    it("gives the workload's uid the gate listeners, and the metadata server only through the filter: its credentials pass, its boot script is refused", () => {
      assert.ok(!config.nft.gate.some((g) => g.address === METADATA), `no gate entry for the metadata server: ${JSON.stringify(config.nft.gate)}`);
      assert.ok(config.nft.gate.length >= 1);
      const m = config.nft.metadata;
      assert.ok(m, "the guard config carries the metadata filter");
      assert.deepStrictEqual([m.listen.address, m.upstream], ["127.0.0.1", { address: METADATA, port: 80 }]);
      for (const [method, target] of b.credentials) assert.strictEqual(metadataRefusal(m.allow, method, target), undefined, `${method} ${target} passes`);
      for (const [method, target] of b.bootScript) assert.ok(metadataRefusal(m.allow, method, target), `${method} ${target} is refused`);
      const text = guestRuleset(config.nft, 61_337);
      assert.ok(text.includes(`meta skuid 61337 ip daddr ${METADATA} tcp dport 80 counter name "metadata_redirected" redirect to :${m.listen.port}`), "the workload's metadata connections are redirected to the filter");
      assert.doesNotMatch(text.slice(0, text.indexOf("jump system_out")), new RegExp(`ip daddr ${METADATA.replace(/\./g, "\\.")} tcp dport 80 .*accept`), "the workload's output chain has no accept for the metadata server");
    });

    it("fails when a wildcard rule is put back: the check above names it, and the ruleset refuses to render it", () => {
      for (const wild of [{ proto: "tcp", port: 443 } as GuestAllow, any("tcp", 443, "0.0.0.0/0"), any("udp", 53, "10.0.0.0/1")]) {
        const back = { ...config, nft: { ...config.nft, system: [...config.nft.system, wild] } };
        assert.notDeepStrictEqual(widened(back, b.https(built)), [], `the check sees ${JSON.stringify(wild)}`);
        assert.throws(() => guestRuleset(back.nft, 61_337), /nft\.system\[\d+\]\.address: .* not an IPv4 address or a CIDR of \/8 or narrower/);
      }
      const unlisted = { ...config, nft: { ...config.nft, system: [...config.nft.system, any("tcp", 443, "198.18.0.10")] } };
      assert.deepStrictEqual(widened(unlisted, b.https(built)), [`* tcp 198.18.0.10:443: 443 beyond the stores`]);
    });
  });
}

describe("vmSystemAllow (components/cloud/guard.ts): bad platform paths are refused, naming the field", () => {
  const ok = { resolvers: ["10.0.0.2"], timeServers: [], stores: [{ address: "10.0.1.10", port: 443 }], rootAgents: [] };
  it("refuses an empty resolver or store list, 'any' and too-wide ranges", () => {
    assert.throws(() => vmSystemAllow({ ...ok, stores: [] }), /VmPlatformPaths\.stores is empty/);
    assert.throws(() => vmSystemAllow({ ...ok, resolvers: [] }), /VmPlatformPaths\.resolvers is empty/);
    assert.throws(() => vmSystemAllow({ ...ok, stores: [{ address: "0.0.0.0/0", port: 443 }] }), /VmPlatformPaths\.stores\[0\]\.address: "0\.0\.0\.0\/0"/);
    assert.throws(() => vmSystemAllow({ ...ok, timeServers: ["pool.ntp.org"] }), /VmPlatformPaths\.timeServers\[0\]/);
    assert.throws(() => vmSystemAllow({ ...ok, rootAgents: [{ address: "", port: 80 }] }), /VmPlatformPaths\.rootAgents\[0\]\.address/);
    assert.doesNotThrow(() => vmSystemAllow(ok));
  });
});
