// What the chaos runner acts on, independent of the backend: the egress gate (Toxiproxy admin URL and
// one proxy per upstream), the workload's cgroup, optionally its network interfaces (for tc netem),
// the sandbox record, and how to tell whether the workload is alive. Each backend adapts its own handle
// to this (the local one in components/local/chaos-target.ts), so chaos/ imports no backend.
import { cgroupOf, CgroupRef } from "../components/host/cgroup";

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
