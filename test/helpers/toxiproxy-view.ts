// Toxiproxy's own view of a proxy, read over its HTTP API with node's http client — independent of
// components/host/toxiproxy.ts (the wrapper under test) and of toxiproxy-node-client: rollback and
// removals are judged by what the server says it has, not by what Airlock's code says it did.
import * as http from "http";

export interface ToxicView {
  name: string;
  type: string;
  stream: string;
  toxicity: number;
  attributes: Record<string, unknown>;
}

export interface ProxyView {
  exists: boolean;
  enabled?: boolean;
  listen?: string;
  toxics: ToxicView[];
}

/** One HTTP request to the admin API; resolves with the status and the parsed (or raw) body. */
export function adminRequest(adminUrl: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, adminUrl), { method, headers: { "content-type": "application/json" }, timeout: 5000 }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => {
        let parsed: any = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON: keep the text */
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from ${adminUrl} within 5 s`)));
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** GET /proxies/<name> (which includes its toxics); a 404 is "no such proxy". Anything else non-2xx throws. */
export async function proxyView(adminUrl: string, proxy: string): Promise<ProxyView> {
  const r = await adminRequest(adminUrl, "GET", `/proxies/${encodeURIComponent(proxy)}`);
  if (r.status === 404) return { exists: false, toxics: [] };
  if (r.status !== 200) throw new Error(`toxiproxy-view: GET /proxies/${proxy}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return { exists: true, enabled: r.body.enabled, listen: r.body.listen, toxics: r.body.toxics ?? [] };
}

/** Names of every proxy the server has. */
export async function proxyNames(adminUrl: string): Promise<string[]> {
  const r = await adminRequest(adminUrl, "GET", "/proxies");
  if (r.status !== 200) throw new Error(`toxiproxy-view: GET /proxies: HTTP ${r.status}`);
  return Object.keys(r.body).sort();
}
