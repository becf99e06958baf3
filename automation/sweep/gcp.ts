// GCP: the sandbox label is found with Cloud Asset Inventory's searchAllResources (query
// `labels.airlock-sandbox:*` = "has the label", any value), and a resource no stack owns is deleted by
// a DELETE on the REST URL its full resource name maps to.
//   https://cloud.google.com/asset-inventory/docs/reference/rest/v1/TopLevel/searchAllResources
//   https://cloud.google.com/asset-inventory/docs/resource-name-format
import { LABEL_KEYS } from "../../components/naming";
import { CloudInventory, Http, jsonCall, TaggedResource } from "./types";

/** Full resource name (//service/path) -> REST URL and deletion rank, for the services Airlock uses. */
export function gcpDeleteUrl(name: string): { url: string; rank: number } | undefined {
  const m = /^\/\/([^/]+)\/(.+)$/.exec(name);
  if (!m) return undefined;
  const [, service, path] = m;
  if (service === "compute.googleapis.com") {
    const kind = path.split("/").slice(-2, -1)[0];
    const rank = ({ instances: 0, disks: 1, firewalls: 1, firewallPolicies: 1, routes: 1, routers: 1, addresses: 1, subnetworks: 2, networks: 3 } as Record<string, number>)[kind] ?? 1;
    return { url: `https://compute.googleapis.com/compute/v1/${path}`, rank };
  }
  if (service === "storage.googleapis.com") {
    const bucket = path.startsWith("projects/_/buckets/") ? path.slice("projects/_/buckets/".length) : path;
    return { url: `https://storage.googleapis.com/storage/v1/b/${encodeURIComponent(bucket)}`, rank: 5 };
  }
  if (service === "iam.googleapis.com") return { url: `https://iam.googleapis.com/v1/${path}`, rank: 4 };
  if (service === "dns.googleapis.com") return { url: `https://dns.googleapis.com/dns/v1/${path}`, rank: 2 };
  if (service === "cloudscheduler.googleapis.com") return { url: `https://cloudscheduler.googleapis.com/v1/${path}`, rank: 0 };
  if (service === "pubsub.googleapis.com") return { url: `https://pubsub.googleapis.com/v1/${path}`, rank: 4 };
  return undefined;
}

export interface GcpInventoryOptions {
  /** `projects/<id>`, `folders/<n>` or `organizations/<n>`. */
  scope: string;
  /** An OAuth access token (e.g. `gcloud auth print-access-token`). */
  accessToken: string;
  http: Http;
}

export function gcpInventory(o: GcpInventoryOptions): CloudInventory {
  const key = LABEL_KEYS.gcp.sandbox;
  const headers = { authorization: `Bearer ${o.accessToken}` };
  return {
    backend: "gcp",
    labelStyle: "gcp",
    scope: `GCP ${o.scope}`,
    async list() {
      const out: TaggedResource[] = [];
      let token: string | undefined;
      do {
        const q = new URLSearchParams({ query: `labels.${key}:*`, pageSize: "500", ...(token ? { pageToken: token } : {}) });
        const page = await jsonCall(o.http, { method: "GET", url: `https://cloudasset.googleapis.com/v1/${o.scope}:searchAllResources?${q}`, headers });
        for (const r of page.results ?? []) if (r.labels?.[key] !== undefined) out.push({ id: r.name, type: r.assetType, labels: r.labels });
        token = page.nextPageToken || undefined;
      } while (token);
      return out;
    },
    async remove(r) {
      const target = gcpDeleteUrl(r.id);
      if (!target) throw new Error(`no direct deletion for ${r.type}; delete it with \`gcloud asset\`/the console or through its stack`);
      await jsonCall(o.http, { method: "DELETE", url: target.url, headers });
    },
    removalRank(r) {
      return gcpDeleteUrl(r.id)?.rank ?? 6;
    },
  };
}

export function gcpFromEnvironment(env: NodeJS.ProcessEnv, http: Http, project?: string): CloudInventory {
  const p = project ?? env.GOOGLE_CLOUD_PROJECT ?? env.GOOGLE_PROJECT;
  if (!p) throw new Error("no GCP project: pass --project or set GOOGLE_CLOUD_PROJECT");
  const token = env.GOOGLE_OAUTH_ACCESS_TOKEN;
  if (!token) throw new Error("no GCP access token: set GOOGLE_OAUTH_ACCESS_TOKEN, e.g. `export GOOGLE_OAUTH_ACCESS_TOKEN=$(gcloud auth print-access-token)`");
  return gcpInventory({ scope: p.includes("/") ? p : `projects/${p}`, accessToken: token, http });
}
