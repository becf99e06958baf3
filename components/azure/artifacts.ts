// What the gate installs, without internet: the artifacts container of the record account, read
// through the record's private endpoint with the gate's identity (read on that container only).
// Pulumi uploads the files from the operator's artifacts directory (`airlock:artifactsDir`, default
// `artifacts/azure/` in this repository). storage.Blob: storage/blob.d.ts {accountName,
// containerName, blobName, source, type}. NOTE (UNVERIFIED): whether the provider's blob upload works
// with allowSharedKeyAccess false (it must use an Entra token) has not been tried against a live account.
import * as storage from "@pulumi/azure-native/storage";
import { artifactUploads } from "../cloud/artifacts";
import type { AzureContext } from "./context";
import type { RecordStore } from "./record";

/** Every shared artifact (cloud/artifacts.ts) as a blob of the record account's artifacts container. */
export function uploadArtifacts(ctx: AzureContext, store: RecordStore): storage.Blob[] {
  return artifactUploads("azure").map(
    ({ part, key, source }) =>
      new storage.Blob(
        ctx.name(`artifact-${part}`),
        { resourceGroupName: store.group.name, accountName: store.account.name, containerName: store.containers.artifacts.name, blobName: key, type: "Block", source },
        // The container is WORM (record.ts): a protected blob cannot be deleted; it stays with the record.
        ctx.opts({ retainOnDelete: true }),
      ),
  );
}
