// Targets: the spec's mock services (a mock model API, a red-team target), run as confined processes
// in their own namespace behind the gate. The gate reaches them over the targets veth; the workload
// has no route to that network at all, so it can reach a target only through its gate listener —
// where chaos can be injected and every connection is counted.
import * as net from "net";
import { UndoJournal } from "../host/journal";
import type { ChainLog } from "../record/chain-log";
import type { LocalSandboxHandle } from "./handle";
import { startConfined, ConfinedRun } from "./process-run";
import { targetConfinement } from "./views";
import { safeAppend } from "./record";

export const TARGET_READY_TIMEOUT_MS = 20_000;

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

/** Starts every target and waits until each accepts connections from the gate's side. */
export async function startTargets(journal: UndoJournal, h: LocalSandboxHandle, record: ChainLog): Promise<ConfinedRun[]> {
  const runs: ConfinedRun[] = [];
  for (const t of h.spec.targets) {
    const run = startConfined(targetConfinement(h, t.name), t.command!, { record, source: `target:${t.name}` });
    journal.record("process", `target ${t.name} (pid ${run.ref.pid})`, run.ref);
    runs.push(run);
    let exited: string | undefined;
    void run.exited.then((s) => (exited = `exited with status ${s.status}`));
    const address = h.services!.targets[t.name].address;
    const deadline = Date.now() + TARGET_READY_TIMEOUT_MS;
    for (;;) {
      if (await canConnect(address, t.port)) break;
      if (exited || Date.now() > deadline) {
        throw new Error(`target '${t.name}' ${exited ?? `did not accept connections on port ${t.port} within ${TARGET_READY_TIMEOUT_MS / 1000} s`} — see its output in the record; it must listen on 0.0.0.0:${t.port} (or $PORT)`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    safeAppend(record, "target-ready", { target: t.name, address: `${address}:${t.port}`, pid: run.ref.pid });
  }
  return runs;
}
