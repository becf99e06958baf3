// One Toxiproxy toxic owned by a fault, journaled: added only after its removal is recorded, removed
// through the journal. A toxicity of 0 removes the toxic instead of setting it, because Toxiproxy
// still acts on some toxics at toxicity 0 (reset_peer: Shopify/toxiproxy#603); a later step above 0
// adds it again (with a new journal entry).
import type { ToxicSpec, ToxicStream } from "../../components/host/toxiproxy";
import type { Params } from "../experiment/schema";
import { applyStep, FaultContext, undoSteps } from "./types";
import type { UndoOutcome } from "../../components/host/journal";

export class JournaledToxic {
  private stepId: number | undefined;

  constructor(
    private readonly ctx: FaultContext,
    public readonly proxy: string,
    public readonly name: string,
    public readonly type: string,
    public readonly stream: ToxicStream,
  ) {}

  get present(): boolean {
    return this.stepId !== undefined;
  }

  async set(attributes: Record<string, number>, toxicity: number): Promise<void> {
    const admin = this.ctx.admin!;
    if (toxicity <= 0) {
      await this.remove();
      return;
    }
    if (this.stepId !== undefined) {
      await admin.updateToxic(this.proxy, this.name, { attributes, toxicity });
      return;
    }
    const spec: ToxicSpec = { name: this.name, type: this.type, stream: this.stream, toxicity, attributes };
    const label = `${this.type} toxic '${this.name}' on proxy '${this.proxy}' (${this.stream})`;
    this.stepId = await applyStep(this.ctx, "toxiproxy-toxic", label, { url: admin.url, proxy: this.proxy, name: this.name }, () => admin.addToxic(this.proxy, spec));
  }

  async remove(): Promise<UndoOutcome[]> {
    if (this.stepId === undefined) return [];
    const id = this.stepId;
    this.stepId = undefined;
    return undoSteps(this.ctx.journal, [id]);
  }
}

/** Toxiproxy attributes for each plain toxic fault, from parsed params (ms, bytes, bytes/s). */
export function toxicAttributes(fault: string, p: Params): Record<string, number> {
  const n = (k: string) => Number(p[k] ?? 0);
  switch (fault) {
    case "latency":
      return { latency: n("latency"), jitter: n("jitter") };
    case "bandwidth":
      // Toxiproxy's rate is in KB/s of 1000 bytes (bandwidth.go: ms per byte = 1/rate).
      return { rate: Math.max(1, Math.round(n("rate") / 1000)) };
    case "timeout":
    case "reset":
      return { timeout: n("timeout") };
    case "slow-close":
      return { delay: n("delay") };
    case "slicer":
      // Toxiproxy's slicer delay is in microseconds.
      return { average_size: n("averageSize"), size_variation: n("sizeVariation"), delay: n("delay") * 1000 };
    case "limit-data":
      return { bytes: n("bytes") };
    default:
      throw new Error(`no toxic attributes for fault '${fault}'`);
  }
}
