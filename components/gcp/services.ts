// Google APIs a GCP sandbox reaches, and how. Pure data (no @pulumi/gcp import) so the spec validates
// fast and refuses an unknown service before anything is created.
//
// Path: Private Google Access to the *restricted* VIP (clouds.md §11): the subnet has
// `privateIpGoogleAccess`, the one route the network has is 199.36.153.4/30 via the default internet
// gateway (only that /30 matches: no general internet path), and a private `googleapis.com.` zone
// answers every Google API name with that VIP. Only the gate may open connections to it (firewall.ts).
//
// Differs from AWS: an AWS interface endpoint serves one service and carries its own endpoint policy;
// the restricted VIP serves every Google API that VPC Service Controls supports, for any project. The
// limit on GCP is IAM (each service account holds only the grants below) — without a VPC Service
// Controls perimeter (not created by Airlock: it is an organisation-level object) a credential from
// another project would work through the VIP too. docs/equivalence.md says so.

/** The restricted VIP range (Private Google Access, "restricted.googleapis.com"). */
export const RESTRICTED_VIP_RANGE = "199.36.153.4/30";
export const RESTRICTED_VIP_ADDRESSES = ["199.36.153.4", "199.36.153.5", "199.36.153.6", "199.36.153.7"] as const;
export const RESTRICTED_HOST = "restricted.googleapis.com.";
/** The next hop Google documents for Private Google Access routes. */
export const DEFAULT_INTERNET_GATEWAY = "default-internet-gateway";
export const GOOGLE_APIS_PORT = 443;
/** Cloud Storage's API host (artifacts, record), reached through the VIP. */
export const STORAGE_HOST = "storage.googleapis.com";

/** A Google API the spec can name in `egress.allow[].service`, with the one grant it needs. */
export interface GoogleService {
  /** What the spec writes; a RegExp for services that carry a resource id. */
  pattern: RegExp;
  example: string;
  /** The API host the workload calls (resolved to the gate, which forwards it to the VIP). */
  hostname(region: string): string;
  port: number;
  /** The resource-level grant the workload's service account gets (never a project role). */
  grant(service: string, region: string): ResourceGrant;
}

export interface ResourceGrant {
  kind: "vertex-endpoint";
  /** Resource id the grant is on (e.g. the Vertex AI endpoint's numeric id). */
  resource: string;
  role: string;
}

export const GOOGLE_SERVICES: Readonly<Record<string, GoogleService>> = {
  // A model served from a Vertex AI endpoint in the sandbox's project: predict needs
  // roles/aiplatform.user, granted on that endpoint only (gcp.vertex.AiEndpointIamMember).
  aiplatform: {
    pattern: /^aiplatform\/endpoints\/(\d{1,19})$/,
    example: "aiplatform/endpoints/1234567890123456789",
    hostname: (region) => `${region}-aiplatform.googleapis.com`,
    port: GOOGLE_APIS_PORT,
    grant: (service) => ({ kind: "vertex-endpoint", resource: /(\d+)$/.exec(service)![1], role: "roles/aiplatform.user" }),
  },
};

/** The service definition for a spec's `service` value, if any. */
export function googleServiceOf(service: string): { key: string; def: GoogleService } | undefined {
  for (const [key, def] of Object.entries(GOOGLE_SERVICES)) if (def.pattern.test(service)) return { key, def };
  return undefined;
}

// DNS (dns.ts builds it, facts.ts checks it).
export const GOOGLE_APIS_ZONE = "googleapis.com.";
/** Names that keep their normal answers (more specific than the root rule of the response policy). */
export const DNS_BYPASS = ["googleapis.com.", "*.googleapis.com.", "metadata.google.internal.", "*.internal."] as const;
export const DNS_CATCH_ALL = "*.";
/** The answer for every other name: a non-routable address (the query is never forwarded). */
export const DNS_SINK_ADDRESS = "0.0.0.0";
