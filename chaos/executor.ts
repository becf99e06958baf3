// Executes timeline events (start a window's fault, move it to its next ramp step, stop it) and keeps
// the record of what happened when, for the report: applied/removed times, tick -> effect lag, undo
// time, status. The active faults it holds are what the rollback stops first.
import { clock } from "./measure/clock";
import { startFault } from "./faults";
import type { FaultContext } from "./faults/types";
import type { WindowRun } from "./report/report";
import type { ActiveEntry } from "./rollback";
import type { TimelineEvent } from "./schedule/timeline";

const r2 = (x: number) => Math.round(x * 100) / 100;

export class TimelineExecutor {
  /** Faults in effect, in the order they were started. */
  readonly active: ActiveEntry[] = [];

  constructor(
    private readonly ctx: FaultContext,
    private readonly runs: Map<string, WindowRun>,
    /** ms since the run started. */
    private readonly since: () => number,
    /** Offset of the timeline from the run start (the baseline). */
    private readonly timelineStartMs: number,
    private readonly progress: (msg: string) => void,
  ) {}

  async execute(ev: TimelineEvent): Promise<void> {
    if (ev.kind === "start") return this.start(ev);
    if (ev.kind === "step") return this.step(ev);
    return this.stop(ev);
  }

  private at(): string {
    return `t+${(this.since() / 1000).toFixed(1)}s`;
  }

  private async start(ev: TimelineEvent): Promise<void> {
    const w = ev.window;
    const run = this.runs.get(w.id)!;
    const planned = this.timelineStartMs + ev.atMs;
    try {
      const fault = await startFault(this.ctx, w, w.steps[0].params);
      const applied = this.since();
      Object.assign(run, { appliedAtMs: r2(applied), tickToEffectMs: r2(applied - planned), mechanism: fault.mechanism, status: "applied" });
      if (/^tc netem/.test(fault.mechanism))
        run.note = "netem acts on the sandbox's veth; the runner measures from the host side of the gate, which does not cross it, so the loss is not in these measurements (the workload's own traffic does cross it)";
      Object.assign(run.steps[0], { appliedAtMs: r2(applied), lagMs: r2(applied - planned) });
      this.active.push({
        id: w.id,
        fault,
        onStopped: (ms, err) => Object.assign(run, { removedAtMs: r2(this.since()), rollbackMs: r2(ms), status: err ? "failed" : "undone", error: err }),
      });
      this.progress(`${this.at()} ${w.id}: ${fault.mechanism} (in effect ${run.tickToEffectMs} ms after its tick)`);
    } catch (e: any) {
      Object.assign(run, { status: "failed", error: e.message });
      throw new Error(`starting ${w.id} failed: ${e.message}`);
    }
  }

  private async step(ev: TimelineEvent): Promise<void> {
    const w = ev.window;
    const entry = this.active.find((a) => a.id === w.id);
    if (!entry) return;
    const params = w.steps[ev.step].params;
    await entry.fault.update(params);
    const applied = this.since();
    Object.assign(this.runs.get(w.id)!.steps[ev.step], { appliedAtMs: r2(applied), lagMs: r2(applied - this.timelineStartMs - ev.atMs) });
    const moved = Object.fromEntries(Object.keys(w.action.ramp?.to ?? {}).map((k) => [k, params[k]]));
    this.progress(`${this.at()} ${w.id}: ramp step ${ev.step + 1}/${w.steps.length} ${JSON.stringify(moved)}`);
  }

  private async stop(ev: TimelineEvent): Promise<void> {
    const i = this.active.findIndex((a) => a.id === ev.window.id);
    if (i < 0) return;
    const [entry] = this.active.splice(i, 1);
    const t = clock();
    try {
      await entry.fault.stop();
      entry.onStopped(clock() - t);
      this.progress(`${this.at()} ${ev.window.id}: undone in ${(clock() - t).toFixed(1)} ms`);
    } catch (e: any) {
      entry.onStopped(clock() - t, e.message);
      throw new Error(`undoing ${ev.window.id} failed: ${e.message}`);
    }
  }
}
