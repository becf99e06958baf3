// A minimal Kubernetes API client: server-side apply, get, delete and list-by-label over HTTPS, with
// the kubeconfig's CA and a bearer token or client certificate. Airlock needs only these verbs (the
// sweeper, the conformance tests against a real API server, the fleet benchmark), so a client
// library is not worth its weight; the Pulumi Kubernetes provider plugin cannot be built reliably
// here (docs/kubernetes.md), and server-side apply is what it would send anyway.
import * as fs from "fs";
import * as https from "https";
import * as YAML from "yaml";
import { resourcePath, type Manifest } from "./manifest";

export interface KubeCredentials {
  /** https://host:port */
  server: string;
  ca: Buffer | string;
  token?: string;
  cert?: Buffer | string;
  key?: Buffer | string;
}

/** An API error with the server's Status message (e.g. the PodSecurity refusal). */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly body: any,
  ) {
    super(message);
  }
}

export const FIELD_MANAGER = "airlock";

export class KubeClient {
  private readonly agent: https.Agent;

  constructor(readonly creds: KubeCredentials) {
    this.agent = new https.Agent({ ca: creds.ca, cert: creds.cert, key: creds.key, keepAlive: true, maxSockets: 8 });
  }

  /** Reads a kubeconfig (the current or the named context): CA data/file, token or client cert. */
  static fromKubeconfig(file: string, context?: string): KubeClient {
    const doc = YAML.parse(fs.readFileSync(file, "utf8"));
    const ctxName = context ?? doc["current-context"];
    const ctx = (doc.contexts ?? []).find((c: any) => c.name === ctxName)?.context;
    if (!ctx) throw new Error(`kubeconfig ${file}: no context '${ctxName}'; pass one of: ${(doc.contexts ?? []).map((c: any) => c.name).join(", ")}`);
    const cluster = (doc.clusters ?? []).find((c: any) => c.name === ctx.cluster)?.cluster;
    const user = (doc.users ?? []).find((u: any) => u.name === ctx.user)?.user ?? {};
    if (!cluster?.server) throw new Error(`kubeconfig ${file}: context '${ctxName}' names no cluster server`);
    const data = (inline?: string, path?: string) => (inline ? Buffer.from(inline, "base64") : path ? fs.readFileSync(path) : undefined);
    const ca = data(cluster["certificate-authority-data"], cluster["certificate-authority"]);
    if (!ca) throw new Error(`kubeconfig ${file}: cluster '${ctx.cluster}' has no certificate authority; Airlock does not talk to an unverified API server`);
    return new KubeClient({
      server: cluster.server,
      ca,
      token: user.token ?? (user.tokenFile ? fs.readFileSync(user.tokenFile, "utf8").trim() : undefined),
      cert: data(user["client-certificate-data"], user["client-certificate"]),
      key: data(user["client-key-data"], user["client-key"]),
    });
  }

  close(): void {
    this.agent.destroy();
  }

  async request(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<any> {
    const url = new URL(path, this.creds.server);
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            accept: "application/json",
            ...(this.creds.token ? { authorization: `Bearer ${this.creds.token}` } : {}),
            ...(payload !== undefined ? { "content-type": contentType, "content-length": Buffer.byteLength(payload) } : {}),
          },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: any = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              /* not JSON (e.g. /readyz says "ok") */
            }
            if ((res.statusCode ?? 500) >= 400)
              reject(new KubeApiError(res.statusCode ?? 500, parsed?.reason ?? "", `${method} ${url.pathname}: ${res.statusCode} ${parsed?.message ?? text}`, parsed));
            else resolve(parsed);
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${url.pathname}: no answer from ${this.creds.server} in 30 s`)));
      req.on("error", reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Server-side apply (the object as Airlock renders it wins every field Airlock sets). */
  apply(m: Manifest, opts: { dryRun?: boolean } = {}): Promise<any> {
    const q = `?fieldManager=${FIELD_MANAGER}&force=true${opts.dryRun ? "&dryRun=All" : ""}`;
    return this.request("PATCH", resourcePath(m) + q, m, "application/apply-patch+yaml");
  }

  /** Plain create (POST): what a user's `kubectl create` does; used to show admission refusing objects. */
  create(m: Manifest, opts: { dryRun?: boolean } = {}): Promise<any> {
    return this.request("POST", resourcePath(m, { collection: true }) + (opts.dryRun ? "?dryRun=All" : ""), m);
  }

  get(m: Pick<Manifest, "apiVersion" | "kind" | "metadata">): Promise<any> {
    return this.request("GET", resourcePath(m));
  }

  async exists(m: Pick<Manifest, "apiVersion" | "kind" | "metadata">): Promise<boolean> {
    try {
      await this.get(m);
      return true;
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return false;
      throw e;
    }
  }

  async delete(m: Pick<Manifest, "apiVersion" | "kind" | "metadata">, opts: { ignoreMissing?: boolean } = {}): Promise<void> {
    try {
      await this.request("DELETE", resourcePath(m), { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background" });
    } catch (e) {
      if (!(opts.ignoreMissing && e instanceof KubeApiError && e.status === 404)) throw e;
    }
  }

  /** Lists a kind (in a namespace, or cluster-wide) by label selector. */
  async list(apiVersion: string, kind: string, opts: { namespace?: string; labelSelector?: string } = {}): Promise<any[]> {
    const base = resourcePath({ apiVersion, kind, metadata: { name: "", namespace: opts.namespace } }, { collection: true, allNamespaces: !opts.namespace });
    const res = await this.request("GET", base + (opts.labelSelector ? `?labelSelector=${encodeURIComponent(opts.labelSelector)}` : ""));
    return res?.items ?? [];
  }
}
