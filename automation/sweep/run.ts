// Carries out a sweep plan: owning stacks through the engine, then whatever an expired sandbox still
// has listed (no stack, or left after the engine's destroy) directly, in removal order. Every failure
// is reported, none stops the rest.
import { planSweep, SweepPlan } from "./plan";
import type { CloudInventory, StackEngine, TaggedResource } from "./types";
import { LABEL_KEYS } from "../../components/naming";

export interface CloudSweepReport extends SweepPlan {
  dryRun: boolean;
  /** Why stacks were not consulted, when they were not. */
  engineNote?: string;
  destroyedStacks: string[];
  deleted: string[];
  kept: string[];
  failures: string[];
  /** Resources of expired sandboxes still listed after the sweep (should be none but kept records). */
  leftovers: string[];
}

export interface CloudSweepOptions {
  inventory: CloudInventory;
  /** Absent: no engine reachable; every expired sandbox is deleted directly. */
  engine?: StackEngine;
  now?: Date;
  dryRun?: boolean;
  progress?: (m: string) => void;
}

async function deleteDirectly(inv: CloudInventory, resources: TaggedResource[], report: CloudSweepReport, progress: (m: string) => void): Promise<void> {
  const ordered = [...resources].sort((a, b) => inv.removalRank(a) - inv.removalRank(b));
  for (const r of ordered) {
    progress(`deleting ${r.type} ${r.id}`);
    try {
      await inv.remove(r);
      report.deleted.push(r.id);
    } catch (e) {
      report.failures.push(`${r.id}: ${(e as Error).message}`);
    }
  }
}

export async function sweepCloud(o: CloudSweepOptions): Promise<CloudSweepReport> {
  const inv = o.inventory;
  const now = o.now ?? new Date();
  const progress = o.progress ?? (() => undefined);
  progress(`listing resources labelled ${LABEL_KEYS[inv.labelStyle].sandbox} in ${inv.scope}`);
  const listed = await inv.list();
  // An expired sandbox must go even when the engine cannot be asked who owns it: it is then deleted
  // directly, and the report says why (its stack, if any, keeps stale state until destroyed).
  let stacks: Awaited<ReturnType<StackEngine["listStacks"]>> = [];
  let engineNote: string | undefined = o.engine ? undefined : "no Pulumi engine used: expired sandboxes are deleted directly";
  if (o.engine) {
    progress("listing the engine's stacks and their outputs");
    try {
      stacks = await o.engine.listStacks();
    } catch (e) {
      engineNote = `the Pulumi engine could not list stacks (${(e as Error).message}): expired sandboxes are deleted directly`;
    }
  }
  const plan = planSweep(inv, listed, stacks, now);
  const report: CloudSweepReport = { ...plan, dryRun: !!o.dryRun, ...(engineNote ? { engineNote } : {}), destroyedStacks: [], deleted: [], kept: [], failures: [], leftovers: [] };
  for (const s of plan.sandboxes) for (const r of s.resources) if (s.expired && r.keep) report.kept.push(`${r.id}: ${r.keep}`);
  if (o.dryRun) return report;

  const toDestroy = [...new Set([...plan.sandboxes.filter((s) => s.action === "destroy-stack").map((s) => s.stack!), ...plan.stacks.filter((s) => s.action === "destroy-stack").map((s) => s.stack)])];
  for (const stack of toDestroy) {
    progress(`pulumi destroy of stack '${stack}'`);
    try {
      await o.engine!.destroy(stack);
      await o.engine!.removeStack(stack);
      report.destroyedStacks.push(stack);
    } catch (e) {
      report.failures.push(`stack ${stack}: ${(e as Error).message}`);
    }
  }

  // Whatever an expired sandbox still has listed now: no stack owned it, or the engine left it.
  const expired = new Set(plan.sandboxes.filter((s) => s.expired).map((s) => s.sandbox));
  const key = LABEL_KEYS[inv.labelStyle].sandbox;
  const keep = new Set(plan.sandboxes.flatMap((s) => s.resources.filter((r) => r.keep).map((r) => r.id)));
  const remaining = () => (toDestroy.length ? inv.list() : Promise.resolve(listed)).then((rs) => rs.filter((r) => expired.has(r.labels[key]) && !keep.has(r.id)));
  await deleteDirectly(inv, await remaining(), report, progress);
  // Deletions some platforms carry out asynchronously (Cloud Control, ARM) may still be listed: those
  // were accepted and are not counted as left over.
  const accepted = new Set(report.deleted);
  if (expired.size) report.leftovers = (await inv.list()).filter((r) => expired.has(r.labels[key]) && !keep.has(r.id) && !accepted.has(r.id)).map((r) => r.id);
  return report;
}
