// What the Azure workload VM's system traffic may reach (cloud/guard.ts VmPlatformPaths), by address:
//   resolvers   168.63.129.16, Azure's virtual public IP (the platform resolver, behind the DNS
//               security policy of dns.ts);
//   time        none: Azure Linux images take the clock from the host through the Hyper-V PTP device
//               (chrony's `refclock PHC /dev/ptp_hyperv`), not over the network;
//   stores      the record account's private endpoint (its fixed address, plan.recordIp) on 443: the
//               record and the guard's artifacts are both containers of that account (store-access.ts);
//   rootAgents  the wire server on 168.63.129.16 (80: goal state and health, 32526: the guest agent's
//               host plugin), root only — as the Azure Linux agent's own firewall setting
//               (OS.EnableFirewall) restricts it; IMDS (the identity's token) is the shared metadata rule.
import { HTTPS_PORT, VmPlatformPaths } from "../cloud/guard";

/** Azure's virtual public IP: the platform DNS and the wire server. */
export const AZURE_PLATFORM_ADDRESS = "168.63.129.16";
export const WIRE_SERVER_PORTS = [80, 32526] as const;

export function azurePlatformPaths(recordEndpointIp: string): VmPlatformPaths {
  return {
    resolvers: [AZURE_PLATFORM_ADDRESS],
    timeServers: [],
    stores: [{ address: recordEndpointIp, port: HTTPS_PORT }],
    rootAgents: WIRE_SERVER_PORTS.map((port) => ({ address: AZURE_PLATFORM_ADDRESS, port })),
  };
}
