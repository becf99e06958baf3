// Azure TEE rules (clouds.md §5): Confidential VMs, SEV-SNP (DCasv5/ECasv5) and TDX (DCesv5/ECesv5).
// The VM-size tables land with the Azure backend; until then only the TEE kinds are checked (by the
// shared rule in spec/backend-rules.ts).
import type { BackendRules } from "../spec/backend-rules";

export const azureRules: BackendRules = {
  backend: "azure",
  confidential: ["sev-snp", "tdx"],
};
