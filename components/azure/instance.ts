// The one way this backend creates a VM, so that every machine (workload, gate, targets) gets the same
// hardening (compute/virtualMachine.d.ts; types/input.d.ts compute.*Args):
//   - a NIC with one static private address, no public IP (unless unsafe.allowInternet on the gate),
//     no IP forwarding; NIC and OS disk deleted with the VM (deleteOption Delete);
//   - a user-assigned identity (its grants are made by the caller: identity.ts);
//   - password authentication off and a sealed SSH key: Linux VMs need a key when passwords are off,
//     so a fresh ed25519 key is generated at deploy time and its private half never leaves memory —
//     nobody holds it (and no NSG admits inbound traffic anyway). ignoreChanges keeps a redeploy from
//     replacing the VM for a new sealed key;
//   - no extensions (osProfile.allowExtensionOperations false): no Run Command or agent-pushed
//     scripts, the Azure counterpart of "no SSM" on AWS;
//   - Confidential VM when the spec asks (securityType ConfidentialVM, secure boot + vTPM, OS disk
//     securityEncryptionType DiskWithVMGuestState — clouds.md §5), otherwise Trusted Launch (secure
//     boot + vTPM) with encryption at host (securityProfile.encryptionAtHost; rejected together with
//     DiskWithVMGuestState, clouds.md §11, and needs the EncryptionAtHost feature registered);
//   - boot diagnostics into the private record account (diagnosticsProfile.bootDiagnostics.storageUri);
//   - a bootstrap in custom data (base64), replaced on change (custom data only runs once).
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";
import * as compute from "@pulumi/azure-native/compute";
import type * as types from "@pulumi/azure-native/types";
import type * as managedidentity from "@pulumi/azure-native/managedidentity";
import type { AzureContext } from "./context";
import { AzureRole, roleTag } from "./taggable";
import { toBase64 } from "./store-access";

import { SEALED_KEY_COMMENT } from "./names";
export const ADMIN_USER = "azureops";

export const DEFAULT_IMAGE = "Canonical:ubuntu-24_04-lts:server:latest";
export const DEFAULT_CVM_IMAGE = "Canonical:0001-com-ubuntu-confidential-vm-jammy:22_04-lts-cvm:latest";

/** A public key in OpenSSH format whose private key is dropped on return. */
export function sealedSshKey(): string {
  const { publicKey } = crypto.generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([field(Buffer.from("ssh-ed25519")), field(raw)]).toString("base64")} ${SEALED_KEY_COMMENT}`;
}

export function imageReference(image: string): types.input.compute.ImageReferenceArgs {
  if (image.startsWith("/")) return { id: image };
  const [publisher, offer, sku, version] = image.split(":");
  return { publisher, offer, sku, version };
}

export interface HardenedVmArgs {
  role: AzureRole & ("workload" | "gate" | "target");
  size: string;
  image: string;
  subnet: network.Subnet;
  privateIp: string;
  identity: managedidentity.UserAssignedIdentity;
  bootScript: pulumi.Input<string>;
  bootDiagnosticsUri: string;
  osDiskGiB?: number;
  tee: "none" | "sev-snp" | "tdx";
  publicIp?: network.PublicIPAddress;
  dependsOn?: pulumi.Resource[];
}

export function hardenedVm(ctx: AzureContext, part: string, a: HardenedVmArgs): compute.VirtualMachine {
  const rg = ctx.sandboxGroup;
  const nic = new network.NetworkInterface(
    ctx.name(`${part}-nic`),
    {
      resourceGroupName: rg,
      networkInterfaceName: ctx.quietName(`${part}-nic`),
      enableIPForwarding: false,
      ipConfigurations: [{ name: "primary", primary: true, subnet: { id: a.subnet.id }, privateIPAllocationMethod: "Static", privateIPAddress: a.privateIp, ...(a.publicIp ? { publicIPAddress: { id: a.publicIp.id } } : {}) }],
      tags: roleTag(a.role),
    },
    ctx.opts(),
  );
  const confidential = a.tee !== "none";
  return new compute.VirtualMachine(
    ctx.name(part),
    {
      resourceGroupName: rg,
      vmName: ctx.quietName(part),
      hardwareProfile: { vmSize: a.size },
      identity: { type: "UserAssigned", userAssignedIdentities: [a.identity.id] },
      networkProfile: { networkInterfaces: [{ id: nic.id, primary: true, deleteOption: "Delete" }] },
      osProfile: {
        computerName: ctx.quietName(part, 15).replace(/-/g, ""),
        adminUsername: ADMIN_USER,
        allowExtensionOperations: false,
        customData: pulumi.output(a.bootScript).apply(toBase64),
        linuxConfiguration: { disablePasswordAuthentication: true, provisionVMAgent: true, ssh: { publicKeys: [{ path: `/home/${ADMIN_USER}/.ssh/authorized_keys`, keyData: sealedSshKey() }] } },
      },
      storageProfile: {
        imageReference: imageReference(a.image),
        osDisk: {
          createOption: "FromImage",
          deleteOption: "Delete",
          caching: "ReadWrite",
          ...(a.osDiskGiB ? { diskSizeGB: a.osDiskGiB } : {}),
          managedDisk: { storageAccountType: "Premium_LRS", ...(confidential ? { securityProfile: { securityEncryptionType: "DiskWithVMGuestState" } } : {}) },
        },
      },
      securityProfile: confidential
        ? { securityType: "ConfidentialVM", uefiSettings: { secureBootEnabled: true, vTpmEnabled: true } }
        : { securityType: "TrustedLaunch", uefiSettings: { secureBootEnabled: true, vTpmEnabled: true }, encryptionAtHost: true },
      diagnosticsProfile: { bootDiagnostics: { enabled: true, storageUri: a.bootDiagnosticsUri } },
      tags: roleTag(a.role),
    },
    ctx.opts({ dependsOn: a.dependsOn, ignoreChanges: ["osProfile.linuxConfiguration.ssh"], replaceOnChanges: ["osProfile.customData"] }),
  );
}
