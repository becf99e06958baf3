// The vocabulary of the cloud sweepers. Each cloud contributes one inventory (aws.ts, gcp.ts, azure.ts,
// kubernetes.ts): "list what carries Airlock's sandbox label" and "delete this one thing". Deciding
// what is expired, which stack owns it and in what order to remove it is cloud-neutral (plan.ts,
// run.ts), so it is written once.
import type { Backend } from "../../components/spec/schema";
import type { LabelStyle } from "../../components/naming";

export type CloudBackend = Exclude<Backend, "local">;

/** One labelled thing a cloud's listing API returned. */
export interface TaggedResource {
  /** The platform's own id: an ARN, a full resource name, an ARM id, a namespace name. */
  id: string;
  /** The platform's type, as the listing names it (e.g. `ec2:instance`, `compute.googleapis.com/Instance`). */
  type: string;
  labels: Record<string, string>;
}

/** A minimal HTTP exchange: the only thing a cloud inventory needs from the network. */
export interface HttpRequest {
  method: "GET" | "POST" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface HttpResponse {
  status: number;
  body: string;
}

export type Http = (req: HttpRequest) => Promise<HttpResponse>;

/** One cloud's listing and direct-deletion API. */
export interface CloudInventory {
  backend: CloudBackend;
  labelStyle: LabelStyle;
  /** Where it looks (account/region, project, subscriptions, cluster), for the report. */
  scope: string;
  /** Every resource carrying the sandbox label, all pages. */
  list(): Promise<TaggedResource[]>;
  /** Deletes one resource directly (used when no stack owns it). Throws with the platform's reason. */
  remove(resource: TaggedResource): Promise<void>;
  /**
   * Deletion order: lower first (instances before their subnets before their network). Resources a
   * cloud deletes with their container (Azure resource groups, Kubernetes namespaces) are not listed
   * separately.
   */
  removalRank(resource: TaggedResource): number;
}

/** What the sweeper needs from the Pulumi engine (cli-engine.ts runs the real CLI). */
export interface StackEngine {
  /** Every stack in the backend with its outputs (index.ts exports sandboxId, backend, expiresAt). */
  listStacks(): Promise<{ name: string; outputs: Record<string, unknown> }[]>;
  /** `pulumi destroy` of the stack (refreshing first, so what is already gone is not an error). */
  destroy(stack: string): Promise<void>;
  /** `pulumi stack rm` once it holds nothing. */
  removeStack(stack: string): Promise<void>;
}

/** An HTTP answer that is not a success, with the platform's message. */
export class CloudApiError extends Error {
  constructor(
    readonly request: HttpRequest,
    readonly status: number,
    body: string,
  ) {
    super(`${request.method} ${request.url.split("?")[0]} answered ${status}: ${body.slice(0, 300)}`);
    this.name = "CloudApiError";
  }
}

/** Sends `req` and parses the JSON answer; a non-2xx status throws CloudApiError. */
export async function jsonCall(http: Http, req: HttpRequest): Promise<any> {
  const res = await http(req);
  if (res.status < 200 || res.status >= 300) throw new CloudApiError(req, res.status, res.body);
  return res.body ? JSON.parse(res.body) : {};
}
