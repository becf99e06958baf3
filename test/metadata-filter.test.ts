// The metadata filter (components/guest/metadata-filter.ts) on loopback, against a stand-in metadata
// server on 127.0.0.1 that echoes what reached it: the allowlist decides, headers pass through both
// ways unchanged (IMDSv2's token headers, Metadata-Flavor, Metadata), nothing is added (no
// X-Forwarded-For), every refusal is a 403 that never reaches the server and is reported once.
import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { assertMetadataAllow, metadataRefusal, MetadataFilter, MetadataRefusal, startMetadataFilter } from "../components/guest/metadata-filter";
import { AWS_METADATA_ALLOW } from "../components/aws/platform";
import { GCP_METADATA_ALLOW } from "../components/gcp/platform";
import { AZURE_METADATA_ALLOW } from "../components/azure/platform";

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

function request(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: "127.0.0.1", port, method, path, headers, agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    r.on("error", reject);
    r.end();
  });
}

describe("metadata filter (components/guest/metadata-filter.ts), on loopback", () => {
  let upstream: http.Server;
  let seen: Seen[] = [];
  let filter: MetadataFilter;
  let refused: MetadataRefusal[] = [];

  before(async () => {
    upstream = http.createServer((req, res) => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers });
      res.writeHead(200, { "metadata-flavor": "Google", "x-aws-ec2-metadata-token-ttl-seconds": "21600", "content-type": "text/plain" }).end(`server saw ${req.url}`);
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    const upPort = (upstream.address() as AddressInfo).port;
    filter = await startMetadataFilter({ listen: { address: "127.0.0.1", port: 0 }, upstream: { address: "127.0.0.1", port: upPort }, allow: [...AWS_METADATA_ALLOW, ...GCP_METADATA_ALLOW, ...AZURE_METADATA_ALLOW] }, (r) => refused.push(r));
  });
  after(async () => {
    await filter?.close();
    await new Promise((r) => upstream?.close(r));
  });
  beforeEach(() => ((seen = []), (refused = [])));

  it("forwards an allowed call with its headers unchanged and adds none (IMDSv2 token PUT)", async () => {
    const r = await request(filter.port, "PUT", "/latest/api/token", { "X-aws-ec2-metadata-token-ttl-seconds": "21600" });
    assert.strictEqual(r.status, 200);
    assert.strictEqual(r.body, "server saw /latest/api/token");
    assert.strictEqual(r.headers["x-aws-ec2-metadata-token-ttl-seconds"], "21600", "the server's reply headers come back");
    assert.strictEqual(seen.length, 1);
    assert.strictEqual(seen[0].method, "PUT");
    assert.strictEqual(seen[0].headers["x-aws-ec2-metadata-token-ttl-seconds"], "21600");
    assert.strictEqual(seen[0].headers["x-forwarded-for"], undefined, "no X-Forwarded-For (IMDSv2 and Azure IMDS refuse it)");
    assert.strictEqual(seen[0].headers["forwarded"], undefined);
    assert.deepStrictEqual(refused, []);
  });

  it("passes GCP's Metadata-Flavor and Azure's Metadata header both ways", async () => {
    const g = await request(filter.port, "GET", "/computeMetadata/v1/instance/service-accounts/default/token", { "Metadata-Flavor": "Google" });
    assert.strictEqual(g.status, 200);
    assert.strictEqual(g.headers["metadata-flavor"], "Google");
    const a = await request(filter.port, "GET", "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fcognitiveservices.azure.com", { Metadata: "true" });
    assert.strictEqual(a.status, 200);
    assert.deepStrictEqual(
      seen.map((s) => [s.url, s.headers["metadata-flavor"] ?? s.headers["metadata"]]),
      [
        ["/computeMetadata/v1/instance/service-accounts/default/token", "Google"],
        ["/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fcognitiveservices.azure.com", "true"],
      ],
    );
  });

  it("answers 403 to the boot-script paths, never asks the server, and reports each refusal", async () => {
    const targets = ["/latest/user-data", "/computeMetadata/v1/instance/attributes/startup-script", "/metadata/instance/compute/userData?api-version=2021-01-01&format=text", "/latest/meta-data/iam/security-credentials/..%2f..%2fuser-data"];
    for (const t of targets) assert.strictEqual((await request(filter.port, "GET", t)).status, 403, t);
    assert.deepStrictEqual(seen, [], "nothing refused reached the server");
    assert.deepStrictEqual(
      refused.map((r) => r.target),
      targets,
    );
    assert.ok(refused.every((r) => r.why && r.method === "GET" && r.from.startsWith("127.0.0.1:")));
  });
});

describe("metadata allowlists: matching and bad input", () => {
  it("matches whole paths; {name} is one plain segment; query names only as listed", () => {
    const allow = AWS_METADATA_ALLOW;
    assert.strictEqual(metadataRefusal(allow, "GET", "/latest/meta-data/iam/security-credentials/role-a"), undefined);
    assert.match(metadataRefusal(allow, "GET", "/latest/meta-data/iam/security-credentials/role-a/x")!, /allowlist/);
    assert.match(metadataRefusal(allow, "GET", "/latest/meta-data/iam/security-credentials/..")!, /plain segments/);
    assert.match(metadataRefusal(allow, "GET", "/latest/meta-data/iam/security-credentials/%2e%2e")!, /plain segments/);
    assert.match(metadataRefusal(allow, "GET", "/latest/meta-data/placement/region?x=1")!, /query parameter\(s\) x/);
    assert.match(metadataRefusal(allow, "GET", "/latest/api/token")!, /allowlist/, "the token is PUT only");
    assert.match(metadataRefusal(GCP_METADATA_ALLOW, "GET", "/?recursive=true")!, /query parameter\(s\) recursive not allowed on \//);
  });

  it("refuses a malformed allowlist, naming the field", () => {
    assert.throws(() => assertMetadataAllow("platform.metadata", []), /platform\.metadata: empty or missing/);
    assert.throws(() => assertMetadataAllow("platform.metadata", [{ method: "POST", path: "/x" }]), /platform\.metadata\[0\]\.method: "POST"/);
    assert.throws(() => assertMetadataAllow("platform.metadata", [{ method: "GET", path: "latest/x" }]), /platform\.metadata\[0\]\.path/);
    assert.throws(() => assertMetadataAllow("platform.metadata", [{ method: "GET", path: "/a/../b" }]), /platform\.metadata\[0\]\.path/);
    assert.throws(() => assertMetadataAllow("platform.metadata", [{ method: "GET", path: "/a", query: "x" }]), /platform\.metadata\[0\]\.query/);
    for (const [cloud, list] of [["aws", AWS_METADATA_ALLOW], ["gcp", GCP_METADATA_ALLOW], ["azure", AZURE_METADATA_ALLOW]] as const) assert.doesNotThrow(() => assertMetadataAllow(cloud, list));
  });
});
