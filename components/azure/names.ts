// Names that both the resource modules and the invariant facts need. Pure (no SDK import), so that
// the facts — loaded by `airlock check` for every backend — never load @pulumi/azure-native.
export const CONTAINERS = { record: "record", flowLogs: "insights-logs-flowlogflowevent", canaries: "canaries", artifacts: "artifacts" } as const;
/** Marks the deploy-time SSH key whose private half was discarded (instance.ts). */
export const SEALED_KEY_COMMENT = "sealed-no-private-key";
/** Instance-view status of a VM that powered itself off (the reaper deletes on it: ttl.ts). */
export const STOPPED = "PowerState/stopped";
/** How often the reaper Logic App checks the expiry and powered-off VMs (ttl.ts). */
export const TTL_INTERVAL_MINUTES = 5;
/** How often the sealer Logic App locks unlocked immutability policies (record.ts). */
export const SEAL_INTERVAL_MINUTES = 5;
