// How many refusals one sandbox's tally holds (refusal-tally.ts): a leaf, because spec validation
// (rules.ts, which must load nothing heavy) refuses a denied-egress threshold the tally could never
// reach. The cap bounds the tally's disk use against a workload looping on refused calls; it must
// never be what stops a kill, so no threshold above it is accepted on this backend.
export const TALLY_CAP_BYTES = 1024 * 1024;
