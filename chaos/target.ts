// What the chaos runner acts on, independent of the backend: the egress gate (Toxiproxy admin URL and
// one proxy per upstream), the workload's cgroup, optionally its network interfaces (for tc netem),
// the sandbox record, and how to tell whether the workload is alive. The local backend's handle is
// adapted here; a cloud backend provides the same from a runner placed next to its workload.
import * as path from "path";
import { cgroupOf, CgroupRef } from "../components/host/cgroup";
import type { LocalSandboxHandle } from "../components/local/handle";
import { stateDir } from "../components/host/state";

export interface ChaosGateProxy {
  /** Toxiproxy proxy name. */
  proxy: string;
  /** host:port the gate listens on (what the workload connects to; the runner measures through it). */
  listen: string;
  /** host:port the gate forwards to. */
  upstream: string;
}

export interface ChaosTarget {
  /** Sandbox id: names the journal (one chaos run per sandbox at a time) and the report. */
  id: string;
  gate?: { adminUrl: string; proxies: Record<string, ChaosGateProxy> };
  cgroup?: CgroupRef;
  /**
   * Where tc netem can act: the workload-side interface (inside `netns`) carries workload -> gate
   * traffic (stream "upstream"); the host-side interface carries gate -> workload ("downstream").
   */
  network?: { netns?: string; sandboxIface?: string; hostIface?: string };
  /** The sandbox's hash-chained record: stop conditions read it, the report is appended to it. */
  record?: string;
  /** Where reports are written. */
  reportDir: string;
  /** Whether the workload still runs (a stop condition and a probe). */
  isWorkloadAlive(): boolean;
}

export { cgroupOf };

/** The workload is alive while its cgroup holds a process. */
export function cgroupLiveness(ref: CgroupRef): () => boolean {
  const cg = cgroupOf(ref);
  return () => cg.exists() && cg.processes().length > 0;
}

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
