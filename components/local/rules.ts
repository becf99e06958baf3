// Local backend rules: one Linux host has no TEE to offer, so it offers no confidential kind (any is
// refused by the shared rule in spec/backend-rules.ts: reported, never faked). cpus may be
// fractional (a CPU quota), but not more than the host has. A denied-egress threshold is at most what
// the refusal tally can count (refusal-tally-cap.ts says why).
import * as os from "os";
import type { BackendRules } from "../spec/backend-rules";
import type { SpecIssue } from "../spec/issues";
import { TALLY_CAP_BYTES } from "./refusal-tally-cap";

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
  validateSpec(spec) {
    const issues: SpecIssue[] = [];
    spec.killSwitch.rules.forEach((r, i) => {
      if (r.on === "denied-egress" && r.threshold > TALLY_CAP_BYTES)
        issues.push({
          path: `killSwitch.rules[${i}].threshold`,
          value: r.threshold,
          message: `the local backend counts refused socket calls up to ${TALLY_CAP_BYTES} per sandbox (a bound on the tally's disk use), so a higher threshold might never fire`,
          fix: `use at most ${TALLY_CAP_BYTES}`,
        });
    });
    return issues;
  },
};
