// GCP TEE rules (clouds.md §5): Confidential VM types SEV, SEV_SNP, TDX. The machine-type tables
// land with the GCP backend; until then only the TEE kinds are checked.
import type { BackendRules } from "../spec/backend-rules";
import { unsupportedConfidential } from "../spec/backend-rules";

export const gcpRules: BackendRules = {
  backend: "gcp",
  confidential: ["sev", "sev-snp", "tdx"],
  validate(view) {
    return view.confidential !== "none" && !this.confidential.includes(view.confidential) ? [unsupportedConfidential(this, view.confidential)] : [];
  },
};
