// Azure TEE rules (clouds.md §5): Confidential VMs, SEV-SNP (DCasv5/ECasv5) and TDX (DCesv5/ECesv5).
// The VM-size tables land with the Azure backend; until then only the TEE kinds are checked.
import type { BackendRules } from "../spec/backend-rules";
import { unsupportedConfidential } from "../spec/backend-rules";

export const azureRules: BackendRules = {
  backend: "azure",
  confidential: ["sev-snp", "tdx"],
  validate(view) {
    return view.confidential !== "none" && !this.confidential.includes(view.confidential) ? [unsupportedConfidential(this, view.confidential)] : [];
  },
};
