// The end of every run, whatever ended it: stop the active faults newest first, then undo whatever
// the journal still holds (a fault whose start failed half-way, a stop that failed), retry once, and
// read everything back to verify that the old state is there again: no toxic of this run left on the
// gate, proxies enabled as before, every cgroup limit equal to the value saved before it was changed,
// no qdisc of ours on an interface.
import * as fs from "fs";
import { isDeepStrictEqual } from "util";
import type { UndoJournal } from "../components/host/journal";
import { ToxiproxyAdmin } from "../components/host/toxiproxy";
import type { ActiveFault, AppliedStep } from "./faults/types";
import { rootQdiscIsDefault } from "./faults/netem";
import { cgroupOf } from "./target";

export interface RollbackStep {
  label: string;
  ok: boolean;
  ms: number;
  error?: string;
}

export interface RollbackResult {
  /** Nothing left in the journal. */
  complete: boolean;
  /** Read back: the old state is there again (false lists what is not in `problems`). */
  verified: boolean;
  problems: string[];
  steps: RollbackStep[];
  ms: number;
}

export interface ActiveEntry {
  id: string;
  fault: ActiveFault;
  onStopped(ms: number, error?: string): void;
}

export async function rollbackAll(journal: UndoJournal, active: ActiveEntry[], applied: AppliedStep[]): Promise<RollbackResult> {
  const started = performance.now();
  const steps: RollbackStep[] = [];
  for (const entry of [...active].reverse()) {
    const t = performance.now();
    try {
      const outcomes = await entry.fault.stop();
      outcomes.forEach((o) => steps.push({ label: o.step.label, ok: o.ok, ms: o.ms, error: o.error }));
      entry.onStopped(performance.now() - t);
    } catch (e: any) {
      entry.onStopped(performance.now() - t, e.message);
      steps.push({ label: entry.id, ok: false, ms: performance.now() - t, error: e.message });
    }
  }
  for (let attempt = 0; attempt < 2 && journal.pending().length > 0; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 500));
    for (const o of await journal.undoAll()) steps.push({ label: o.step.label, ok: o.ok, ms: o.ms, error: o.error });
  }
  const complete = journal.pending().length === 0;
  const problems = await verifyRestored(applied);
  if (!complete) problems.unshift(`${journal.pending().length} change(s) could not be undone: ${journal.pending().map((s) => s.label).join("; ")} — run \`airlock recover\``);
  return { complete, verified: problems.length === 0, problems, steps, ms: Math.round((performance.now() - started) * 100) / 100 };
}

/** Reads back every change this run made; returns what is not as it was. */
export async function verifyRestored(applied: AppliedStep[]): Promise<string[]> {
  const problems: string[] = [];
  for (const step of applied) {
    try {
      const problem = await verifyOne(step);
      if (problem) problems.push(problem);
    } catch (e: any) {
      problems.push(`cannot read back '${step.label}': ${e.message}`);
    }
  }
  return [...new Set(problems)];
}

async function verifyOne(step: AppliedStep): Promise<string | undefined> {
  const a = step.args;
  switch (step.kind) {
    case "toxiproxy-toxic": {
      const toxics = await new ToxiproxyAdmin(a.url).listToxics(a.proxy).catch((e) => (/404/.test(e.message) ? [] : Promise.reject(e)));
      return toxics.some((t) => t.name === a.name) ? `toxic '${a.name}' is still on proxy '${a.proxy}'` : undefined;
    }
    case "toxiproxy-enabled": {
      const p = await new ToxiproxyAdmin(a.url).getProxy(a.proxy);
      return p && p.enabled !== a.enabled ? `proxy '${a.proxy}' is ${p.enabled ? "enabled" : "disabled"}, was ${a.enabled ? "enabled" : "disabled"}` : undefined;
    }
    case "cgroup-limit": {
      const cg = cgroupOf(a);
      if (!cg.exists()) return undefined;
      const now = cg.getLimit(a.kind, a.device);
      return isDeepStrictEqual(now, a.old) ? undefined : `cgroup ${a.rel} ${a.kind}${a.device ? ` ${a.device}` : ""} is ${JSON.stringify(now)}, was ${JSON.stringify(a.old)}`;
    }
    case "tc-qdisc-root": {
      if (a.netns && !fs.existsSync(`/run/netns/${a.netns}`)) return undefined;
      const ok = await rootQdiscIsDefault(a.netns, a.iface);
      return ok === true || /cannot read/.test(ok) ? undefined : ok;
    }
    default:
      return undefined;
  }
}
