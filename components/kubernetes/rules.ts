// Kubernetes TEE rules: a confidential node pool / RuntimeClass (SEV-SNP or TDX nodes). Checked in
// full when the Kubernetes backend lands; until then only the TEE kinds are checked (by the shared
// rule in spec/backend-rules.ts).
import type { BackendRules } from "../spec/backend-rules";

export const kubernetesRules: BackendRules = {
  backend: "kubernetes",
  confidential: ["sev-snp", "tdx"],
};
