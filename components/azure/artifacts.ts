// What the gate installs, without internet: the artifacts container of the record account, read
// through the record's private endpoint with the gate's identity (read on that container only).
// Pulumi uploads the files from the operator's artifacts directory (`airlock:artifactsDir`, default
// `artifacts/azure/` in this repository). storage.Blob: storage/blob.d.ts {accountName,
// containerName, blobName, source, type}. NOTE (UNVERIFIED): whether the provider's blob upload works
// with allowSharedKeyAccess false (it must use an Entra token) has not been tried against a live account.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { GUARD_ARTIFACTS } from "../guest/install";
import * as storage from "@pulumi/azure-native/storage";
import type { AzureContext } from "./context";
import type { RecordStore } from "./record";

export const ARTIFACT_FILES = {
  toxiproxy: { blob: "bin/toxiproxy-server", file: "toxiproxy-server" },
  // The in-guest guard (bin/build-guest-guard writes both files): the workload installs it at first boot.
  guardNode: { blob: GUARD_ARTIFACTS.node.key, file: GUARD_ARTIFACTS.node.file },
  guardBundle: { blob: GUARD_ARTIFACTS.bundle.key, file: GUARD_ARTIFACTS.bundle.file },
} as const;

export function artifactsDir(): string {
  return new pulumi.Config("airlock").get("artifactsDir") ?? path.join(__dirname, "..", "..", "artifacts", "azure");
}

export function uploadArtifacts(ctx: AzureContext, store: RecordStore): storage.Blob[] {
  const dir = artifactsDir();
  return Object.entries(ARTIFACT_FILES).map(
    ([part, a]) =>
      new storage.Blob(
        ctx.name(`artifact-${part}`),
        { resourceGroupName: store.group.name, accountName: store.account.name, containerName: store.containers.artifacts.name, blobName: a.blob, type: "Block", source: new pulumi.asset.FileAsset(path.join(dir, a.file)) },
        // The container is WORM (record.ts): a protected blob cannot be deleted; it stays with the record.
        ctx.opts({ retainOnDelete: true }),
      ),
  );
}
