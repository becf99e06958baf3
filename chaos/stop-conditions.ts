// Stop conditions: what ends an experiment early, checked all along the baseline and the timeline.
//   probe-failed   a `during` probe failed N times in a row (fed by the probe loops);
//   workload-exit  the workload is gone (polled);
//   record-event   an event of a listed type was appended to the sandbox record, e.g. the kill
//                  switch's "kill" (the record is tailed from where it was when the run started).
import type { StopCondition } from "./experiment/schema";
import { Periodic } from "./measure/loop";
import { RecordTail } from "./measure/record-tail";
import type { ProbeResult } from "./probes";
import type { ChaosTarget } from "./target";

export class StopConditionWatch {
  private readonly streaks = new Map<string, number>();
  private readonly tail: RecordTail | undefined;
  private readonly loop: Periodic;

  constructor(
    private readonly conditions: StopCondition[],
    private readonly target: ChaosTarget,
    intervalMs: number,
    private readonly stop: (detail: string) => void,
  ) {
    this.tail = target.record ? new RecordTail(target.record) : undefined;
    this.loop = new Periodic(intervalMs, () => this.poll());
  }

  start(): this {
    this.loop.start();
    return this;
  }

  async end(): Promise<void> {
    await this.loop.stop();
  }

  /** Every probe result passes here; `during` failures count towards probe-failed conditions. */
  onProbe(r: ProbeResult): void {
    if (r.phase !== "during") return;
    const streak = r.ok ? 0 : (this.streaks.get(r.probe) ?? 0) + 1;
    this.streaks.set(r.probe, streak);
    for (const c of this.conditions)
      if (c.on === "probe-failed" && c.probe === r.probe && streak >= c.consecutive) this.stop(`probe '${r.probe}' failed ${streak} time(s) in a row (${r.detail})`);
  }

  private poll(): void {
    const appended = this.tail?.poll() ?? []; // read once per tick: every record-event condition sees the same entries
    for (const c of this.conditions) {
      if (c.on === "workload-exit" && this.target.cgroup && !this.target.isWorkloadAlive()) this.stop("the workload is no longer running");
      if (c.on === "record-event") {
        const hit = appended.find((e) => c.types.includes(e.type));
        if (hit) this.stop(`'${hit.type}' event in the sandbox record (seq ${hit.seq})`);
      }
    }
  }
}
