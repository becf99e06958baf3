// How the Azure sandbox's first-boot scripts (cloud-init custom data: the shared scripts of
// ../cloud/boot.ts) reach their stores — a token for the machine's user-assigned identity from
// IMDS (169.254.169.254, header `Metadata: true`; IMDS refuses proxied requests) and Blob storage over
// HTTPS with it (no key: the record account has shared-key access off), through the record's private
// endpoint: the record container (create blobs under the machine's prefix) and the artifacts container (read).
import { sq, StoreAccess } from "../cloud/boot";

export const BLOB_API_VERSION = "2021-08-06";

export interface CommonBoot {
  /** Client id of the machine's user-assigned identity (IMDS needs it when several could apply). */
  clientId: string;
  /** https://<account>.blob.core.windows.net */
  blobEndpoint: string;
  recordContainer: string;
  logPrefix: string;
  /** The artifacts container, for machines that fetch artifacts. */
  artifactsContainer?: string;
}

/** Shell function `token <resource>`: an access token for this machine's identity. */
function tokenFunction(clientId: string): string {
  return [
    "token() {",
    `  curl -sf -H Metadata:true "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&client_id=${clientId}&resource=$1" | sed -n 's/.*"access_token":"\\([^"]*\\)".*/\\1/p'`,
    "}",
  ].join("\n");
}

const blobCurl = `curl -sf -H "Authorization: Bearer $(token https://storage.azure.com/)" -H "x-ms-version: ${BLOB_API_VERSION}"`;

export function azureStoreAccess(b: CommonBoot): StoreAccess {
  const base = b.blobEndpoint.replace(/\/$/, "");
  return {
    prelude: tokenFunction(b.clientId),
    putRecord: `${blobCurl} -X PUT -H "x-ms-blob-type: BlockBlob" --data-binary @"$src" ${sq(`${base}/${b.recordContainer}/${b.logPrefix}`)}"$name"`,
    getArtifact: (key, dest) => {
      if (!b.artifactsContainer) throw new Error("this machine reads no artifacts (no artifactsContainer)");
      return `${blobCurl} -o ${sq(dest)} ${sq(`${base}/${b.artifactsContainer}/${key}`)}`;
    },
  };
}

export const toBase64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
