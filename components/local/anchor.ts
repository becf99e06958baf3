// The namespace anchor: a sleeping host process inside the sandbox's network namespace (and nothing
// else of the sandbox: host mounts, host pids, root, no sockets). The guard reads the namespace's
// kernel counters through /proc/<anchor>/net/snmp{,6}; without it, an attempt made by a process
// that exits within one poll (a one-shot `sandbox exec`) could never be counted, because a
// namespace's /proc/net is only reachable through a process inside it.
//
// It dies with its owner (PR_SET_PDEATHSIG) and by itself after the sandbox's ttl; its argv[0]
// (airlock-anchor-<id>) lets the sweeper find it.
import { spawn } from "child_process";
import { findTool, HostToolMissing } from "../host/exec";
import { refOf, ProcessRef } from "../host/process";
import { netnsPath } from "./netns";

export interface NetnsAnchor {
  process: ProcessRef;
  stop(): void;
}

export function startNetnsAnchor(o: { netns: string; name: string; lifetimeSeconds: number }): NetnsAnchor {
  const tools = ["setpriv", "nsenter", "bash", "sleep"].map((t) => {
    const p = findTool(t);
    if (!p) throw new HostToolMissing(t);
    return p;
  });
  const [setpriv, nsenter, bash, sleep] = tools;
  const child = spawn(
    setpriv,
    ["--pdeathsig", "KILL", "--", nsenter, `--net=${netnsPath(o.netns)}`, "--", bash, "-c", 'exec -a "$0" "$1" "$2"', o.name, sleep, String(Math.ceil(o.lifetimeSeconds))],
    { stdio: "ignore" },
  );
  child.on("error", () => undefined);
  return {
    process: refOf(child.pid!) ?? { pid: child.pid!, startTime: 0 },
    stop: () => {
      child.kill("SIGKILL");
    },
  };
}
