// Canaries. Placed: one bait file per `canaries.files` entry in the workload user's home (written by
// the bootstrap) and the same content as a blob in the record account's `canaries` container, whose
// reads (and failed reads) are logged to Log Analytics (killswitch.ts). With `canaries.credential`,
// a storage connection string for the record account is filed in ~/.azure/storage.env: the account
// has shared-key access off, so the key grants nothing, and every request signed with a key is a use
// of the planted credential (logged with AuthenticationType AccountKey — UNVERIFIED that refused
// shared-key requests reach StorageBlobLogs). Nothing in the files says "canary".
import * as pulumi from "@pulumi/pulumi";
import * as storage from "@pulumi/azure-native/storage";
import * as crypto from "crypto";
import type { AzureContext } from "./context";
import type { RecordStore } from "./record";
import { baitContent } from "../cloud/bait";
import { shortHash } from "../naming";
import { canaryPaths } from "../cloud/canary-files";

export const CREDENTIAL_PATH = ".azure/storage.env";

export interface CanaryPlan {
  homeFiles: Record<string, string>;
  blobs: storage.Blob[];
  /** Whether a canary credential was planted. */
  credential: boolean;
}

/** A plausible (and useless) account key: 64 bytes, base64, derived from the sandbox id. */
function fakeAccountKey(seed: string): string {
  return crypto.createHash("sha512").update(`${seed}:account-key`).digest("base64");
}

export function credentialFile(account: string, seed: string): string {
  return `AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=${account};AccountKey=${fakeAccountKey(seed)};EndpointSuffix=core.windows.net"\n`;
}

export function canaryContents(ctx: AzureContext): Record<string, string> {
  const { canaries } = ctx.spec;
  if (!canaries.enabled) return {};
  const seed = ctx.identity.id;
  const paths = canaryPaths(canaries, CREDENTIAL_PATH);
  // An AWS-looking key in ~/.aws/credentials is bait here too (its use is not visible to Azure).
  const awsLike = { accessKeyId: `AKIA${shortHash(`${seed}:aws`, 16).toUpperCase()}`, secretAccessKey: crypto.createHash("sha256").update(`${seed}:aws-secret`).digest("base64").slice(0, 40) };
  return Object.fromEntries(paths.map((p) => [p, p === CREDENTIAL_PATH ? credentialFile(ctx.plan.recordAccount, seed) : baitContent(seed, p, { credential: awsLike, region: ctx.location })]));
}

export function placeCanaries(ctx: AzureContext, store: RecordStore): CanaryPlan {
  const homeFiles = canaryContents(ctx);
  const blobs = Object.entries(homeFiles).map(
    ([p, content], i) =>
      new storage.Blob(
        ctx.name(`canary-${i}`),
        { resourceGroupName: store.group.name, accountName: store.account.name, containerName: store.containers.canaries.name, blobName: p, type: "Block", source: new pulumi.asset.StringAsset(content) },
        // The container is WORM (record.ts): a protected blob cannot be deleted; it stays with the record.
        ctx.opts({ retainOnDelete: true }),
      ),
  );
  return { homeFiles, blobs, credential: ctx.spec.canaries.enabled && ctx.spec.canaries.credential };
}
