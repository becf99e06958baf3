// Which azure-native resource types take `tags`. Pure data, shared by the tagging transformation
// (component.ts) and the I7 facts (facts.ts). As for AWS, the list is of the types that do NOT take
// tags, so a type added later is labelled (and checked) unless someone states here that it cannot be;
// test/azure-sandbox.test.ts checks every type the sandbox registers against the .d.ts files of
// @pulumi/azure-native 3.28.0 (an Args interface with or without `tags`).
export const AZURE_UNTAGGABLE_TYPES: ReadonlySet<string> = new Set([
  "azure-native:network:Subnet",
  "azure-native:network:SecurityRule",
  "azure-native:network:Route",
  "azure-native:network:PrivateDnsZoneGroup",
  "azure-native:storage:BlobServiceProperties",
  "azure-native:storage:BlobContainer",
  "azure-native:storage:BlobContainerImmutabilityPolicy",
  "azure-native:storage:Blob",
  "azure-native:authorization:RoleAssignment",
  "azure-native:authorization:RoleDefinition",
  "azure-native:monitor:DiagnosticSetting",
  "azure-native:privatedns:PrivateRecordSet",
]);

export function isAzureTaggable(type: string): boolean {
  return type.startsWith("azure-native:") && !AZURE_UNTAGGABLE_TYPES.has(type);
}

/** An Airlock-only tag naming what a resource is for (workload, gate, target, endpoint, record, ...). */
export const ROLE_TAG = "airlock:role";
export type AzureRole = "workload" | "gate" | "target" | "endpoint" | "record" | "artifacts";
export const roleTag = (role: AzureRole): Record<string, string> => ({ [ROLE_TAG]: role });
