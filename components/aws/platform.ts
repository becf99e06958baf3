// What the AWS workload VM's system traffic may reach (cloud/guard.ts VmPlatformPaths), by address:
//   resolvers   the VPC resolver at the VPC's base + 2 (what DHCP gives the instance) and its
//               link-local alias 169.254.169.253 (Amazon VPC DNS docs, Nitro instances) — both
//               behind the DNS Firewall of dns.ts;
//   time        the Amazon Time Sync Service, 169.254.169.123 (chrony's default on Amazon Linux);
//   stores      the S3 gateway endpoint's ranges on 443 (the endpoint's `cidrBlocks`: the prefix list
//               the workload's security group already allows, firewall.ts) — the record and the
//               guard's artifacts are reached only through it (store-access.ts);
//   rootAgents  none beyond the metadata server (IMDS: the instance role's credentials; root only).
// The S3 ranges are known at deploy time only: they arrive as an Output and are resolved inside the
// user data's apply (workload.ts), like every other value of the guard's config.
import { intToIpv4, ipv4ToInt, parseCidr } from "../spec/net";
import { HTTPS_PORT, VmPlatformPaths } from "../cloud/guard";

export const AWS_RESOLVER_LINK_LOCAL = "169.254.169.253";
export const AWS_TIME_SYNC = "169.254.169.123";

/** The VPC resolver: the VPC's primary range's base address plus two. */
export function vpcResolverAddress(vpcCidr: string): string {
  const c = parseCidr(vpcCidr);
  if (!c) throw new Error(`network.cidr: ${JSON.stringify(vpcCidr)} is not an IPv4 CIDR (the VPC resolver is its base + 2)`);
  const mask = c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0;
  return intToIpv4(((ipv4ToInt(c.address)! & mask) >>> 0) + 2);
}

export function awsPlatformPaths(vpcCidr: string, s3Ranges: readonly string[]): VmPlatformPaths {
  if (!s3Ranges.length) throw new Error("the S3 gateway endpoint reported no cidrBlocks: the guest firewall cannot name the record's path (check the endpoint in the AWS console; its prefix list must have entries)");
  return {
    resolvers: [vpcResolverAddress(vpcCidr), AWS_RESOLVER_LINK_LOCAL],
    timeServers: [AWS_TIME_SYNC],
    stores: s3Ranges.map((address) => ({ address, port: HTTPS_PORT })),
    rootAgents: [],
  };
}
