// The one way this backend creates an EC2 instance, so that every instance (workload, gate, targets)
// gets the same hardening: no public IP (unless an unsafe flag says otherwise), IMDSv2 only with hop
// limit 1 and no tags in metadata, an encrypted root volume, no SSH key, shutdown = terminate (the
// in-guest expiry timer relies on it), and a replacement when the first-boot script changes (user
// data only runs once).
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { AwsContext, roleTag } from "./context";
import type { InstanceIdentity } from "./identity";

export interface HardenedInstanceArgs {
  role: "workload" | "gate" | "target";
  ami: pulumi.Input<string>;
  /** True when the AMI comes from a "most recent" lookup: a newer image must not replace a running sandbox. */
  amiIsLookup: boolean;
  instanceType: string;
  subnet: aws.ec2.Subnet;
  privateIp?: string;
  securityGroup: aws.ec2.SecurityGroup;
  identity: InstanceIdentity;
  userData: pulumi.Input<string>;
  rootVolumeGiB?: number;
  publicIp: boolean;
  cpuOptions?: aws.types.input.ec2.InstanceCpuOptions;
  enclaveOptions?: aws.types.input.ec2.InstanceEnclaveOptions;
  dependsOn?: pulumi.Resource[];
}

export function hardenedInstance(ctx: AwsContext, part: string, a: HardenedInstanceArgs): aws.ec2.Instance {
  return new aws.ec2.Instance(
    ctx.name(part),
    {
      ami: a.ami,
      instanceType: a.instanceType,
      subnetId: a.subnet.id,
      privateIp: a.privateIp,
      vpcSecurityGroupIds: [a.securityGroup.id],
      associatePublicIpAddress: a.publicIp,
      iamInstanceProfile: a.identity.profile.name,
      metadataOptions: {
        httpEndpoint: "enabled",
        httpTokens: ctx.spec.unsafe.allowMetadataV1 ? "optional" : "required",
        httpPutResponseHopLimit: 1,
        instanceMetadataTags: "disabled",
      },
      rootBlockDevice: { encrypted: true, deleteOnTermination: true, volumeType: "gp3", ...(a.rootVolumeGiB ? { volumeSize: a.rootVolumeGiB } : {}) },
      instanceInitiatedShutdownBehavior: "terminate",
      disableApiTermination: false,
      userData: a.userData,
      userDataReplaceOnChange: true,
      cpuOptions: a.cpuOptions,
      enclaveOptions: a.enclaveOptions,
      tags: roleTag(a.role),
    },
    ctx.opts({ dependsOn: a.dependsOn, ...(a.amiIsLookup ? { ignoreChanges: ["ami"] } : {}) }),
  );
}

