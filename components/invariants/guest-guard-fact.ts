// The in-guest guard as a VM backend's resource graph shows it, for I9: the config its first-boot
// script writes (read back with the same reader the tests use, components/guest/install.ts), what of
// the install is missing, and whether the artifacts store holds each artifact the script fetches.
// Cloud-neutral: a cloud's facts.ts passes the machine, its script and how to look up a stored artifact.
import type { GraphNode } from "./graph";
import type { GuardFact } from "./types";
import { GUARD_ARTIFACTS, GUARD_UNIT, readGuardInstall } from "../guest/install";
import { METADATA_ADDRESS } from "../cloud/guard";

export function vmGuardFact(machine: GraphNode, script: string, stored: (key: string) => boolean): GuardFact | undefined {
  const r = readGuardInstall(script);
  // Nothing of the guard at all: no fact (I9 then says no guard watches the workload).
  if (!r.config && !script.includes(GUARD_UNIT)) return undefined;
  const expiresAt = r.config?.expiresAt ? new Date(r.config.expiresAt) : undefined;
  return {
    node: machine,
    where: "in-guest",
    guards: [machine.id!],
    rules: (r.config?.rules ?? []).map((x) => ({ on: x.on, ...("threshold" in x ? { threshold: x.threshold } : {}) })),
    expiresAt: expiresAt && !isNaN(expiresAt.getTime()) ? expiresAt : undefined,
    missing: r.missing,
    artifacts: Object.values(GUARD_ARTIFACTS).map((a) => ({ key: a.key, stored: stored(a.key) })),
    metadata: {
      filter: !!r.config?.nft?.metadata,
      filterUid: r.config?.nft?.metadata?.uid,
      // The workload's uid leaves the VM only through gate entries (components/guest/nft.ts): one naming the metadata server is a way around the filter.
      direct: (r.config?.nft?.gate ?? []).filter((g) => g.address === METADATA_ADDRESS).map((g) => `gate entry '${g.upstream}' (${g.address}:${g.port})`),
    },
  };
}
