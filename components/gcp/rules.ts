// GCP TEE rules (clouds.md §5): Confidential VM types SEV, SEV_SNP, TDX. The machine-type tables
// land with the GCP backend; until then only the TEE kinds are checked (by the shared rule in
// spec/backend-rules.ts).
import type { BackendRules } from "../spec/backend-rules";

export const gcpRules: BackendRules = {
  backend: "gcp",
  confidential: ["sev", "sev-snp", "tdx"],
};
