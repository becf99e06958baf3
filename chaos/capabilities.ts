// What the target and this host can do, asked before anything is applied and handed to the validator:
// the gate's upstreams (and whether its admin API answers), the cgroup version and which limits it
// has, the workload's current memory use, whole disks, and the packet-loss mechanisms available.
import * as fs from "fs";
import * as path from "path";
import { detectCgroupHost, LIMIT_KINDS, LimitKind } from "../components/host/cgroup";
import { ToxiproxyAdmin } from "../components/host/toxiproxy";
import type { SpecIssue } from "../components/spec/issues";
import type { Availability, ValidationContext } from "./experiment/validate";
import { netemAvailableAt } from "./faults/netem";
import { cgroupOf, ChaosTarget } from "./target";

/** Whole disks: /sys/block/<name>/dev holds MAJ:MIN. */
export function blockDevices(sysBlock = "/sys/block"): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(sysBlock)) return out;
  for (const name of fs.readdirSync(sysBlock)) {
    try {
      out[name] = fs.readFileSync(path.join(sysBlock, name, "dev"), "utf8").trim();
    } catch {
      /* not a device */
    }
  }
  return out;
}

export async function toxiproxyPacketLoss(admin: ToxiproxyAdmin): Promise<Availability> {
  const has = await admin.supportsToxicType("packet_loss", { loss_rate: 0.1, correlation: 0 });
  if (has) return true;
  const version = await admin.version().catch(() => "unknown");
  return `the gate's Toxiproxy (version '${version}') has no packet_loss toxic (it arrived after v2.12.0)`;
}

export interface TargetProbe {
  context: ValidationContext;
  /** Problems with the target itself (gate not answering, cgroup gone): reported with the experiment's. */
  issues: SpecIssue[];
}

export async function probeTarget(target: ChaosTarget, needs: { packetLoss: boolean }): Promise<TargetProbe> {
  const issues: SpecIssue[] = [];
  const ctx: ValidationContext = { hasGate: !!target.gate, hasCgroup: !!target.cgroup, blockDevices: blockDevices() };
  let gateUp = false;
  if (target.gate) {
    ctx.upstreams = Object.keys(target.gate.proxies);
    const admin = new ToxiproxyAdmin(target.gate.adminUrl);
    try {
      await admin.version();
      gateUp = true;
    } catch (e: any) {
      issues.push({ path: "(target)", value: target.gate.adminUrl, message: `the gate's admin API does not answer: ${e.message}`, fix: `is sandbox '${target.id}' running? (airlock sandbox list)` });
    }
    if (gateUp && needs.packetLoss) {
      const toxiproxy = await toxiproxyPacketLoss(admin);
      const net = target.network ?? {};
      ctx.packetLoss = {
        toxiproxy,
        netem: {
          upstream: await netemAvailableAt({ netns: net.netns, iface: net.sandboxIface }),
          downstream: await netemAvailableAt({ iface: net.hostIface }),
        },
      };
    }
  }
  if (target.cgroup) {
    const cg = cgroupOf(target.cgroup);
    if (!cg.exists()) issues.push({ path: "(target)", value: target.cgroup.rel, message: "the workload's cgroup does not exist", fix: `is sandbox '${target.id}' running? (airlock sandbox list)` });
    else {
      const supports = Object.fromEntries(LIMIT_KINDS.map((k) => [k, cg.supports(k)])) as Record<LimitKind, Availability>;
      const hybrid = target.cgroup.mode === "v1" && detectCgroupHost(target.cgroup.root).hybrid;
      if (hybrid && supports["memory.high"] !== true) supports["memory.high"] = `${supports["memory.high"]} (this host is cgroup v1 hybrid)`;
      ctx.cgroup = { mode: target.cgroup.mode, hybrid, supports, memoryCurrent: cg.stats().memoryCurrent };
    }
  }
  return { context: ctx, issues };
}
