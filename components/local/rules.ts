// Local backend rules: one Linux host has no TEE to offer, so it offers no confidential kind (any is
// refused by the shared rule in spec/backend-rules.ts: reported, never faked). cpus may be
// fractional (a CPU quota), but not more than the host has.
import * as os from "os";
import type { BackendRules } from "../spec/backend-rules";
import type { SpecIssue } from "../spec/issues";

export const localRules: BackendRules = {
  backend: "local",
  confidential: [],
  validate(view) {
    const issues: SpecIssue[] = [];
    const hostCpus = os.cpus().length;
    if (view.cpus > hostCpus) issues.push({ path: "workload.cpus", value: view.cpus, message: `this host has ${hostCpus} CPUs`, fix: `use at most ${hostCpus}` });
    if (view.machineType) issues.push({ path: "workload.machineType", value: view.machineType, message: "the local backend has no machine types", fix: "remove workload.machineType" });
    return issues;
  },
};
