// The one way this backend creates a GCE instance, so that every instance (workload, gate, targets)
// gets the same hardening (@pulumi/gcp 9.37 InstanceArgs, clouds.md §4, §5, §8, §11):
// - no external IP: the network interface has no `accessConfigs` (nor IPv6 access configs);
// - Shielded VM: secure boot, vTPM, integrity monitoring;
// - metadata: `block-project-ssh-keys` and `enable-oslogin` TRUE, `serial-port-enable` FALSE; no SSH keys;
// - its own service account (never the default compute one) with the narrowest scopes;
// - platform TTL: `scheduling { provisioningModel: STANDARD, instanceTerminationAction: DELETE,
//   terminationTime: <expiry>, onHostMaintenance: TERMINATE, automaticRestart: false }` — see ttl.ts;
// - the Confidential VM settings when the spec asks (workload only): `confidentialInstanceConfig`,
//   `minCpuPlatform` for SEV-SNP, and an NVMe boot disk (Confidential VMs do not boot from SCSI).
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { GcpContext, GcpRole, roleLabel } from "./context";
import type { InstanceIdentity } from "./identity";
import { platformTtl } from "./ttl";

/** Ubuntu 22.04 LTS: carries the SEV_CAPABLE / SEV_SNP_CAPABLE / TDX_CAPABLE guest features (clouds.md §11). */
export const DEFAULT_IMAGE = "projects/ubuntu-os-cloud/global/images/family/ubuntu-2204-lts";

/** Hardening metadata keys (GCE metadata, values are strings). */
export const HARDENED_METADATA = { "block-project-ssh-keys": "TRUE", "enable-oslogin": "TRUE", "serial-port-enable": "FALSE" } as const;

export interface Tee {
  confidentialInstanceConfig: gcp.types.input.compute.InstanceConfidentialInstanceConfig;
  minCpuPlatform?: string;
}

export interface HardenedInstanceArgs {
  role: GcpRole;
  machineType: string;
  image: pulumi.Input<string>;
  subnet: gcp.compute.Subnetwork;
  networkIp?: string;
  identity: InstanceIdentity;
  scopes: string[];
  startupScript: pulumi.Input<string>;
  diskGiB?: number;
  tee?: Tee;
  networkTags?: string[];
  dependsOn?: pulumi.Resource[];
}

export function hardenedInstance(ctx: GcpContext, part: string, a: HardenedInstanceArgs): gcp.compute.Instance {
  return new gcp.compute.Instance(
    ctx.name(part),
    {
      name: ctx.quietName(part.replace(/[^a-z0-9-]/g, "-"), 63),
      zone: ctx.zone,
      machineType: a.machineType,
      minCpuPlatform: a.tee?.minCpuPlatform,
      confidentialInstanceConfig: a.tee?.confidentialInstanceConfig,
      bootDisk: {
        autoDelete: true,
        // Confidential VMs need NVMe; the other instances use it too (one disk shape everywhere).
        interface: "NVME",
        initializeParams: { image: a.image, type: "pd-balanced", ...(a.diskGiB ? { size: a.diskGiB } : {}), labels: {} },
      },
      networkInterfaces: [{ subnetwork: a.subnet.id, networkIp: a.networkIp, stackType: "IPV4_ONLY", nicType: "GVNIC" }],
      serviceAccount: { email: a.identity.email, scopes: a.scopes },
      shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      metadata: { ...HARDENED_METADATA, "startup-script": a.startupScript },
      scheduling: platformTtl(ctx),
      tags: a.networkTags,
      canIpForward: false,
      deletionProtection: false,
      labels: roleLabel(a.role),
    },
    ctx.opts({ dependsOn: a.dependsOn }),
  );
}
