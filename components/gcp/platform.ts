// What the GCP workload VM's system traffic may reach (cloud/guard.ts VmPlatformPaths), by address:
//   resolvers   the metadata server, 169.254.169.254 (metadata.google.internal: the VM's DNS, behind
//               the response policy of dns.ts);
//   time        the metadata server too (Google's guest images point chrony at metadata.google.internal);
//   stores      the gate's record listener: Cloud Storage (the record, the guard's artifacts) is reached
//               through the gate (store-access.ts), never directly. The restricted VIP
//               (199.36.153.4/30, services.ts) is the gate's path to Google APIs only: the cloud firewall
//               lets only the gate's service account reach it (firewall.ts), so the workload VM's guest
//               firewall does not list it either;
//   rootAgents  none beyond the metadata server (the guest agent and OS Login's refresher run as root).
import { VmPlatformPaths, METADATA_ADDRESS } from "../cloud/guard";
import type { GateListener } from "../cloud/layout";

export function gcpPlatformPaths(gateIp: string, recordListener: Pick<GateListener, "listenPort">): VmPlatformPaths {
  return {
    resolvers: [METADATA_ADDRESS],
    timeServers: [METADATA_ADDRESS],
    stores: [{ address: gateIp, port: recordListener.listenPort }],
    rootAgents: [],
  };
}
