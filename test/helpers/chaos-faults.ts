// Drives single faults the way the runner does (validated action -> planned window -> startFault with
// a journal), without the runner's schedule, so a test can measure one fault's effect directly.
import * as assert from "assert";
import { UndoJournal } from "../../components/host/journal";
import { ToxiproxyAdmin } from "../../components/host/toxiproxy";
import { validateExperiment, ValidationContext } from "../../chaos/experiment/validate";
import type { PlannedWindow } from "../../chaos/schedule/plan";
import type { FaultContext } from "../../chaos/faults/types";
import { cgroupOf, ChaosGateProxy, ChaosTarget } from "../../chaos/target";

let seq = 0;

/** The single window of a one-action experiment (validated, params parsed). */
export function windowOf(action: object, ctx: ValidationContext = {}): PlannedWindow {
  const r = validateExperiment({ name: "single", baseline: "0s", recovery: "0s", actions: [action] }, ctx);
  assert.ok(r.ok, JSON.stringify(r.issues, null, 1));
  return r.plan.windows[0];
}

export interface TestFaultContext extends FaultContext {
  /** Undoes anything left and closes the journal. */
  close(): Promise<void>;
}

export function faultContext(target: ChaosTarget): TestFaultContext {
  const journal = UndoJournal.open(`chaostest-${process.pid}-${++seq}`, { purpose: "chaos-test" });
  return {
    journal,
    target,
    admin: target.gate ? new ToxiproxyAdmin(target.gate.adminUrl) : undefined,
    cgroup: target.cgroup ? cgroupOf(target.cgroup) : undefined,
    runId: `t${seq}`,
    applied: [],
    close: async () => {
      await journal.undoAll();
      journal.close();
    },
  };
}

/** A target made of a gate only (no cgroup). */
export function gateTarget(adminUrl: string, proxies: Record<string, ChaosGateProxy>): ChaosTarget {
  return { id: `gate${process.pid}`, gate: { adminUrl, proxies }, reportDir: "/nonexistent", isWorkloadAlive: () => true };
}
