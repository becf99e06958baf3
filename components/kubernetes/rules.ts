// Kubernetes TEE rules: a confidential node pool / RuntimeClass (SEV-SNP or TDX nodes). Checked in
// full when the Kubernetes backend lands; until then only the TEE kinds are checked.
import type { BackendRules } from "../spec/backend-rules";
import { unsupportedConfidential } from "../spec/backend-rules";

export const kubernetesRules: BackendRules = {
  backend: "kubernetes",
  confidential: ["sev-snp", "tdx"],
  validate(view) {
    return view.confidential !== "none" && !this.confidential.includes(view.confidential) ? [unsupportedConfidential(this, view.confidential)] : [];
  },
};
