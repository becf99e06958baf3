// The metadata filter for real on this kernel (issue #8: the workload must not read its own boot
// script, which carries the guard's config and the canary list): per cloud, the guest table the cloud
// generates (components/cloud/guard.ts vmGuestNft over its platform.ts) is loaded into a fresh "guest"
// network namespace whose only neighbour is a test-created "cloud" namespace holding a stand-in
// metadata server at 169.254.169.254:80 that serves every path (and logs what reached it); the filter
// (components/guest/metadata-filter.ts, as the guard starts it: root, loopback) runs in the guest
// namespace. As the workload's uid, with a positive control first: the credentials call answers
// (through the filter — the redirect counter moves), the user-data / startup-script call gets 403 and
// never reaches the server, and no other way to the server is open. Root still reads the user data.
// Before the table is loaded the workload's uid reads the user data straight away (the gap this closes).
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { GUEST_NFT_TABLE } from "../components/guest/config";
import { guestRuleset } from "../components/guest/nft";
import type { MetadataFilterConfig } from "../components/guest/metadata-filter";
import { METADATA_ADDRESS, METADATA_PORT, vmGuestNft, VmPlatformPaths } from "../components/cloud/guard";
import { awsPlatformPaths, AWS_METADATA_ALLOW } from "../components/aws/platform";
import { gcpPlatformPaths, GCP_METADATA_ALLOW } from "../components/gcp/platform";
import { azurePlatformPaths, AZURE_METADATA_ALLOW } from "../components/azure/platform";
import type { MetadataAllow } from "../components/guest/metadata-filter";
import { skipBecause } from "./helpers/common";
import { asUid, GuestCloudPair, METADATA_STAND_IN, PY, sh } from "./helpers/guest-netns";
import { METADATA_FILTER_UID } from "../components/guest/metadata-filter";

const REPO = path.join(__dirname, "..");
const WORKLOAD_UID = 61_337;
const GATE = { address: "10.252.0.10", port: 8443 };
/** A second port on the metadata address: "around" the filter. */
const METADATA_SIDE_PORT = 81;
/** Each cloud's first resolver (tcp 53 is open to every system uid): what the filter's uid must still not reach. */
const DNS_PORT = 53;
/** Any system uid but root and the filter's (a daemon's, e.g. systemd-resolved's). */
const SYSTEM_UID = 990;

interface Cloud {
  name: string;
  platform: VmPlatformPaths;
  allow: MetadataAllow[];
  headers: Record<string, string>;
  /** The credentials call (method, target): the positive control. */
  credentials: [string, string];
  /** The boot script as the workload would read it. */
  bootScript: [string, string];
}

const CLOUDS: Cloud[] = [
  { name: "aws", platform: awsPlatformPaths("10.252.0.0/16", ["198.18.1.0/24"]), allow: AWS_METADATA_ALLOW, headers: { "X-aws-ec2-metadata-token": "t" }, credentials: ["GET", "/latest/meta-data/iam/security-credentials/workload-role"], bootScript: ["GET", "/latest/user-data"] },
  { name: "gcp", platform: gcpPlatformPaths(GATE.address, { listenPort: 8999 }), allow: GCP_METADATA_ALLOW, headers: { "Metadata-Flavor": "Google" }, credentials: ["GET", "/computeMetadata/v1/instance/service-accounts/default/token"], bootScript: ["GET", "/computeMetadata/v1/instance/attributes/startup-script"] },
  { name: "azure", platform: azurePlatformPaths("10.252.3.4"), allow: AZURE_METADATA_ALLOW, headers: { Metadata: "true" }, credentials: ["GET", "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fcognitiveservices.azure.com"], bootScript: ["GET", "/metadata/instance/compute/userData?api-version=2021-01-01&format=text"] },
];

const RESOLVERS = [...new Set(CLOUDS.map((c) => c.platform.resolvers[0]))];


/** One HTTP request from the guest namespace: "<status> <body>" or the error's errno name. */
const GET = String.raw`
import http.client, json, sys, errno
c = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=5)
try:
    c.request(sys.argv[3], sys.argv[4], headers=json.loads(sys.argv[5])); r = c.getresponse(); print(r.status, r.read().decode())
except OSError as e: print(errno.errorcode.get(e.errno, type(e).__name__))
`;

describe("metadata filter (components/guest/metadata-filter.ts) in a real kernel: the workload gets its credentials, not its boot script", function () {
  this.timeout(90_000);
  const pair = new GuestCloudPair("md");
  const saw: string[] = [];
  let refusals: string[] = [];
  let dir: string;
  let filterStop: (() => void) | undefined;

  const request = (uid: number, c: Cloud, [method, target]: [string, string], port = METADATA_PORT) => pair.inGuest(uid, [PY, "-c", GET, METADATA_ADDRESS, String(port), method, target, JSON.stringify(c.headers)]).trim();
  const redirected = () => pair.packets(GUEST_NFT_TABLE, "metadata_redirected");
  /** The requests run synchronously: let the stand-in's and the filter's log lines arrive before reading them. */
  const settle = () => new Promise((r) => setTimeout(r, 300));

  before(async function () {
    if (process.getuid?.() !== 0) skipBecause(this, "needs root (network namespaces, nftables)");
    for (const tool of ["ip", "nft", "setpriv", "nsenter", PY]) if (sh(["sh", "-c", `command -v ${tool}`]).status !== 0) skipBecause(this, `host tool ${tool} is missing`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-mdfilter-"));
    fs.chmodSync(dir, 0o755); // the filter's uid reads its config here
    pair.create([METADATA_ADDRESS, GATE.address, ...RESOLVERS]);
    await pair.start("cloud", [PY, "-c", METADATA_STAND_IN, METADATA_ADDRESS, String(METADATA_PORT)], (l) => l.startsWith("saw ") && saw.push(l.slice(4)));
    await pair.listener(METADATA_ADDRESS, METADATA_SIDE_PORT);
    for (const r of RESOLVERS) await pair.listener(r, DNS_PORT);
  });

  after(() => {
    filterStop?.();
    pair.remove();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("baseline, no guest table: the workload's uid reads the user data straight from the server (the gap), and the server's other port is up", async () => {
    assert.strictEqual(request(WORKLOAD_UID, CLOUDS[0], CLOUDS[0].bootScript), "200 served /latest/user-data");
    assert.strictEqual(pair.connectAs(WORKLOAD_UID, { address: METADATA_ADDRESS, port: METADATA_SIDE_PORT }), "ok");
    await settle();
    assert.deepStrictEqual(saw, ["GET /latest/user-data"], "the stand-in logs what reaches it");
  });

  for (const c of CLOUDS) {
    describe(`${c.name}: the generated guest table and the filter with ${c.name}'s allowlist`, () => {
      before(async () => {
        filterStop?.();
        const nft = { table: GUEST_NFT_TABLE, ...vmGuestNft({ gateIp: GATE.address, listeners: [{ name: "model-api", listenPort: GATE.port }], platform: c.platform, metadata: c.allow }) };
        pair.loadRuleset(`table inet ${GUEST_NFT_TABLE}\ndelete table inet ${GUEST_NFT_TABLE}\n${guestRuleset(nft, WORKLOAD_UID)}`);
        assert.ok(nft.metadata, "the cloud's guest table names a metadata filter");
        const file = path.join(dir, `${c.name}.json`);
        fs.writeFileSync(file, JSON.stringify(nft.metadata satisfies MetadataFilterConfig));
        refusals = [];
        // As the guard runs it: its own uid (components/guest/metadata-supervisor.ts filterArgv).
        assert.strictEqual(nft.metadata.uid, METADATA_FILTER_UID);
        const child = await pair.start("guest", [...asUid(METADATA_FILTER_UID), process.execPath, path.join(REPO, "bin", "run-ts.js"), path.join(REPO, "components", "guest", "metadata-filter.ts"), file], (l) => {
          const m = JSON.parse(l);
          if (m.refused) refusals.push(m.refused.target);
        });
        filterStop = () => child.kill("SIGKILL");
        saw.length = 0;
      });

      it("positive control: the credentials call answers, through the filter (the redirect counter moves)", async () => {
        const before = redirected();
        assert.strictEqual(request(WORKLOAD_UID, c, c.credentials), `200 served ${c.credentials[1]}`);
        assert.ok(redirected() >= before + 1, `metadata_redirected ${before} -> ${redirected()}`);
        await settle();
        assert.deepStrictEqual(saw, [`${c.credentials[0]} ${c.credentials[1]}`]);
        assert.deepStrictEqual(refusals, []);
      });

      it("the boot-script path gets 403, never reaches the server, and the refusal is reported", async () => {
        saw.length = 0;
        assert.strictEqual(request(WORKLOAD_UID, c, c.bootScript), "403 forbidden");
        await settle();
        assert.deepStrictEqual(saw, [], "the server never saw it");
        assert.deepStrictEqual(refusals, [c.bootScript[1]]);
      });

      it("the filter's uid reaches the metadata server itself, and nothing else the system may reach (the resolver, another port of the server); the workload's uid cannot reach the server directly", async () => {
        saw.length = 0;
        assert.strictEqual(request(METADATA_FILTER_UID, c, c.bootScript), `200 served ${c.bootScript[1]}`, "positive control: the filter's uid asks the server itself");
        await settle();
        assert.deepStrictEqual(saw, [`${c.bootScript[0]} ${c.bootScript[1]}`]);
        const resolver = { address: c.platform.resolvers[0], port: DNS_PORT };
        assert.strictEqual(pair.connectAs(SYSTEM_UID, resolver), "ok", `positive control: another system uid reaches the resolver ${resolver.address}:53`);
        const denied = pair.packets(GUEST_NFT_TABLE, "system_denied");
        assert.notStrictEqual(pair.connectAs(METADATA_FILTER_UID, resolver), "ok", "the filter's uid does not reach the resolver");
        assert.notStrictEqual(pair.connectAs(METADATA_FILTER_UID, { address: METADATA_ADDRESS, port: METADATA_SIDE_PORT }), "ok", "nor another port of the server");
        assert.ok(pair.packets(GUEST_NFT_TABLE, "system_denied") >= denied + 2, "both refused by the filter uid's own reject");
        // The workload's uid asking the same: the filter answers (403), the server never hears of it.
        const redirectedBefore = redirected();
        assert.strictEqual(request(WORKLOAD_UID, c, c.bootScript), "403 forbidden");
        assert.ok(redirected() >= redirectedBefore + 1, "the workload's connection was redirected to the filter");
        await settle();
        assert.deepStrictEqual(saw.slice(1), [], "the server saw nothing of the workload's");
      });

      it("no way around the filter: another port of the server is refused (denied_tcp), and with no filter listening nothing reaches the server", async () => {
        const denied = pair.packets(GUEST_NFT_TABLE, "denied_tcp");
        assert.notStrictEqual(pair.connectAs(WORKLOAD_UID, { address: METADATA_ADDRESS, port: METADATA_SIDE_PORT }), "ok", "the port the baseline reached");
        assert.ok(pair.packets(GUEST_NFT_TABLE, "denied_tcp") >= denied + 1, "counted against the workload");
        filterStop?.();
        filterStop = undefined;
        saw.length = 0;
        const r = request(WORKLOAD_UID, c, c.credentials);
        assert.notStrictEqual(r.split(" ")[0], "200", `with the filter down the workload has no path to the server (got ${r})`);
        await settle();
        assert.deepStrictEqual(saw, []);
      });

      it("root (the guard, cloud-init, the platform's agents) still reads the boot script directly", async () => {
        saw.length = 0;
        assert.strictEqual(request(0, c, c.bootScript), `200 served ${c.bootScript[1]}`);
        await settle();
        assert.deepStrictEqual(saw, [`${c.bootScript[0]} ${c.bootScript[1]}`]);
      });
    });
  }
});
