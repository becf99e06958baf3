// Azure services a sandbox may reach through a private endpoint (`egress.allow[].via: endpoint`).
// Pure data, so validation refuses an unknown service before anything is created: Airlock only opens
// services whose private-link group, DNS zone and data-plane actions it knows — a role with
// wildcard data actions is never written. Add a service here with the narrowest actions it needs.
//
// Sources: private-link group ids and zones from Azure's "private endpoint DNS zone values" table
// (clouds.md §2 lists blob); the cognitiveservices.Account inputs (kind, customSubDomainName,
// publicNetworkAccess, disableLocalAuth, networkAcls) are in
// node_modules/@pulumi/azure-native/cognitiveservices/account.d.ts and types/input.d.ts
// (AccountPropertiesArgs). The OpenAI data-action names are the ones of Azure's built-in role
// "Cognitive Services OpenAI User" (UNVERIFIED against a live tenant).

export interface AzureEndpointService {
  /** Private-link sub-resource (PrivateLinkServiceConnection.groupIds). */
  groupId: string;
  /** Private DNS zone the endpoint's A record goes into. */
  privateZone: string;
  /** Public DNS suffix of the account (`<sub-domain>.<suffix>`). */
  publicSuffix: string;
  /** cognitiveservices.Account kind the sandbox creates. */
  accountKind: string;
  /** Data actions the workload's identity gets on that one account (no wildcards). */
  dataActions: readonly string[];
  port: number;
  /** The model deployment the sandbox creates in the account. */
  deployment: { name: string; model: { format: string; name: string; version: string }; sku: { name: string; capacity: number } };
}

export const AZURE_ENDPOINT_SERVICES: Readonly<Record<string, AzureEndpointService>> = {
  // Azure OpenAI: a private account with local (key) auth off; callers use Entra tokens.
  openai: {
    groupId: "account",
    privateZone: "privatelink.openai.azure.com",
    publicSuffix: "openai.azure.com",
    accountKind: "OpenAI",
    dataActions: [
      "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action",
      "Microsoft.CognitiveServices/accounts/OpenAI/deployments/completions/action",
    ],
    port: 443,
    deployment: { name: "eval-model", model: { format: "OpenAI", name: "gpt-4o", version: "2024-08-06" }, sku: { name: "Standard", capacity: 10 } },
  },
};

/** Blob private-link facts (clouds.md §2). */
export const BLOB_PRIVATE_ZONE = "privatelink.blob.core.windows.net";
export const BLOB_SUFFIX = "blob.core.windows.net";
