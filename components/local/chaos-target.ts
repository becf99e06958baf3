// The local backend's side of the chaos contract: what the chaos runner acts on (chaos/target.ts
// ChaosTarget), read from a local sandbox's handle. It lives here, not in chaos/, so that chaos/ depends
// on no backend; a cloud backend provides the same from a runner placed next to its workload.
import * as path from "path";
import { cgroupLiveness, ChaosTarget } from "../../chaos/target";
import { stateDir } from "../host/state";
import type { LocalSandboxHandle } from "./handle";

export function chaosTargetFromLocalHandle(handle: LocalSandboxHandle): ChaosTarget {
  return {
    id: handle.id,
    gate: { adminUrl: handle.gate.adminUrl, proxies: { ...handle.gate.proxies } },
    cgroup: handle.cgroup,
    network: { netns: handle.netns || undefined, sandboxIface: handle.sandboxIface || undefined, hostIface: handle.hostIface || undefined },
    record: handle.record,
    // Next to the record (which is kept after the sandbox is gone), so reports outlive it too.
    reportDir: path.join(handle.record ? path.dirname(handle.record) : stateDir(), "chaos-reports", handle.id),
    isWorkloadAlive: cgroupLiveness(handle.cgroup),
  };
}
