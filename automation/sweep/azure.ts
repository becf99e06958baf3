// Azure: the sandbox tag is found with Azure Resource Graph (one KQL query over resources and resource
// groups in the given subscriptions, paged with $skipToken), and an expired sandbox's resource group
// is deleted with one ARM DELETE (which deletes everything in it).
//   https://learn.microsoft.com/en-us/rest/api/azureresourcegraph/resourcegraph/resources/resources
//   https://learn.microsoft.com/en-us/rest/api/resources/resource-groups/delete
import { LABEL_KEYS } from "../../components/naming";
import { CloudInventory, Http, jsonCall, TaggedResource } from "./types";

const ARM = "https://management.azure.com";
export const RESOURCE_GRAPH_API = "2021-03-01";
export const RESOURCE_GROUPS_API = "2021-04-01";

const GROUP_TYPE = "microsoft.resources/subscriptions/resourcegroups";

/** `/subscriptions/<s>/resourceGroups/<g>` of an ARM id (case-insensitive, as ARM is). */
function groupOf(id: string): string | undefined {
  const m = /^(\/subscriptions\/[^/]+\/resourcegroups\/[^/]+)/i.exec(id);
  return m?.[1].toLowerCase();
}

export interface AzureInventoryOptions {
  subscriptions: string[];
  /** An ARM access token (e.g. `az account get-access-token --query accessToken -o tsv`). */
  accessToken: string;
  http: Http;
}

export function azureInventory(o: AzureInventoryOptions): CloudInventory {
  const key = LABEL_KEYS.tags.sandbox;
  const headers = { authorization: `Bearer ${o.accessToken}`, "content-type": "application/json" };
  // KQL string literal: the key has no quote in it (naming.ts), so no escaping is needed.
  const query = `resources | union resourcecontainers | where isnotnull(tags['${key}']) | project id, name, type, tags`;
  return {
    backend: "azure",
    labelStyle: "tags",
    scope: `Azure subscription(s) ${o.subscriptions.join(", ")}`,
    async list() {
      const rows: TaggedResource[] = [];
      let skipToken: string | undefined;
      do {
        const page = await jsonCall(o.http, {
          method: "POST",
          url: `${ARM}/providers/Microsoft.ResourceGraph/resources?api-version=${RESOURCE_GRAPH_API}`,
          headers,
          body: JSON.stringify({ subscriptions: o.subscriptions, query, options: { resultFormat: "objectArray", ...(skipToken ? { $skipToken: skipToken } : {}) } }),
        });
        for (const r of page.data ?? []) rows.push({ id: r.id, type: String(r.type).toLowerCase(), labels: r.tags ?? {} });
        skipToken = page.$skipToken || undefined;
      } while (skipToken);
      // A resource inside a tagged group goes with the group: list the group only.
      const groups = new Set(rows.filter((r) => r.type === GROUP_TYPE).map((r) => r.id.toLowerCase()));
      return rows.filter((r) => r.type === GROUP_TYPE || !groups.has(groupOf(r.id) ?? ""));
    },
    async remove(r) {
      if (r.type !== GROUP_TYPE) throw new Error(`${r.type} outside a sandbox resource group: delete it with \`az resource delete --ids ${r.id}\` or through its stack`);
      await jsonCall(o.http, { method: "DELETE", url: `${ARM}${r.id}?api-version=${RESOURCE_GROUPS_API}`, headers });
    },
    removalRank(r) {
      return r.type === GROUP_TYPE ? 1 : 0;
    },
  };
}

export function azureFromEnvironment(env: NodeJS.ProcessEnv, http: Http, subscription?: string): CloudInventory {
  const subs = (subscription ?? env.AZURE_SUBSCRIPTION_ID ?? env.ARM_SUBSCRIPTION_ID ?? "").split(",").filter(Boolean);
  if (subs.length === 0) throw new Error("no Azure subscription: pass --subscription or set AZURE_SUBSCRIPTION_ID");
  const token = env.AZURE_ACCESS_TOKEN;
  if (!token) throw new Error("no Azure access token: set AZURE_ACCESS_TOKEN, e.g. `export AZURE_ACCESS_TOKEN=$(az account get-access-token --query accessToken -o tsv)`");
  return azureInventory({ subscriptions: subs, accessToken: token, http });
}
