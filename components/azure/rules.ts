// Azure sizing and TEE rules. Pure data: no @pulumi/azure-native import, so the spec validates fast.
//
// Facts (clouds.md §5 and §11 "Confidential VM"):
// - Confidential VMs (securityType ConfidentialVM): AMD SEV-SNP on DCasv5 / DCadsv5 / ECasv5 /
//   ECadsv5; Intel TDX on DCesv5 / DCedsv5 / ECesv5 / ECedsv5.
// - TDX sizes exist in a few regions only: East US 2, Central US, West Europe (Azure's CVM
//   templates). The SEV-SNP region list is not known to these rules, so no region is refused for it.
// - A Confidential VM needs a confidential image (Canonical `…-cvm` SKUs).
// - Sizes: 2, 4, 8, … 96 vCPUs; D families 4 GiB per vCPU, E families 8 GiB per vCPU.
import type { BackendRules, SizingView } from "../spec/backend-rules";
import { endpointServiceIssues } from "../spec/backend-rules";
import type { SpecIssue } from "../spec/issues";
import type { SandboxSpecParsed } from "../spec/schema";
import { GiB } from "../spec/units";
import { AZURE_ENDPOINT_SERVICES } from "./services";

export const TDX_REGIONS = ["eastus2", "centralus", "westeurope"] as const;

/** Size name patterns per TEE kind (case-insensitive, as Azure treats size names). */
export const TEE_SIZE_PATTERNS: Readonly<Record<"sev-snp" | "tdx", { re: RegExp; families: string; example: string }>> = {
  "sev-snp": { re: /^Standard_(DC|EC)\d+ad?s_v5$/i, families: "DCasv5, DCadsv5, ECasv5, ECadsv5", example: "Standard_DC4as_v5" },
  tdx: { re: /^Standard_(DC|EC)\d+ed?s_v5$/i, families: "DCesv5, DCedsv5, ECesv5, ECedsv5", example: "Standard_DC4es_v5" },
};

const VCPU_LADDER = [2, 4, 8, 16, 32, 48, 64, 96];
const FAMILY_BY_GIB_PER_VCPU: [number, "D" | "E"][] = [[4, "D"], [8, "E"]];

/** The smallest size of the kind's family that fits cpus + memory. */
export function pickAzureVmSize(kind: string, cpus: number, memoryBytes: number): string | undefined {
  for (const n of VCPU_LADDER) {
    for (const [ratio, family] of FAMILY_BY_GIB_PER_VCPU) {
      if (n < cpus || n * ratio * GiB < memoryBytes) continue;
      if (kind === "sev-snp") return `Standard_${family}C${n}as_v5`;
      if (kind === "tdx") return `Standard_${family}C${n}es_v5`;
      return `Standard_${family}${n}as_v5`;
    }
  }
  return undefined;
}

export function azureVmSize(view: SizingView): string | undefined {
  return view.machineType ?? pickAzureVmSize(view.confidential, view.cpus, view.memoryBytes);
}

/** The TEE kind a size provides when run as a Confidential VM. */
export function teeOfSize(size: string | undefined): "sev-snp" | "tdx" | "none" {
  if (!size) return "none";
  if (TEE_SIZE_PATTERNS["sev-snp"].re.test(size)) return "sev-snp";
  if (TEE_SIZE_PATTERNS.tdx.re.test(size)) return "tdx";
  return "none";
}

export const azureRules: BackendRules = {
  backend: "azure",
  confidential: ["sev-snp", "tdx"],
  validate(view: SizingView): SpecIssue[] {
    const issues: SpecIssue[] = [];
    // Kinds Azure does not offer never get here: the shared sizingIssues refuses them.
    const size = azureVmSize(view);
    if (!size) return [{ path: "workload.cpus", value: view.cpus, message: "no Azure v5 size fits this cpus + memory", fix: "use at most 96 cpus and 768GiB, or set workload.machineType" }];
    if (view.confidential === "sev-snp" || view.confidential === "tdx") {
      const p = TEE_SIZE_PATTERNS[view.confidential];
      if (!p.re.test(size))
        issues.push({ path: "workload.machineType", value: size, message: `'${view.confidential}' needs a ${p.families} size`, fix: `remove workload.machineType (Airlock picks one) or use e.g. ${p.example}` });
      if (view.confidential === "tdx" && view.region && !(TDX_REGIONS as readonly string[]).includes(view.region.toLowerCase()))
        issues.push({ path: "region", value: view.region, message: "confidential 'tdx' sizes are offered only in a few regions", fix: `use region: ${TDX_REGIONS.join(" | ")}` });
    }
    return issues;
  },
  validateSpec: azureSpecIssues,
};

/** `publisher:offer:sku:version`, or a managed image / gallery image resource id. */
const IMAGE_URN = /^[A-Za-z0-9._-]+:[A-Za-z0-9._-]+:[A-Za-z0-9._-]+:[A-Za-z0-9._-]+$/;
const IMAGE_ID = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Compute\/(images|galleries)\/.+$/i;

export function isAzureImage(image: string): boolean {
  return IMAGE_URN.test(image) || IMAGE_ID.test(image);
}

/**
 * Azure rules over the whole spec: endpoint services Airlock can scope, on their port; images as
 * URNs or image ids; a confidential image for a Confidential VM.
 */
export function azureSpecIssues(spec: SandboxSpecParsed): SpecIssue[] {
  const issues: SpecIssue[] = endpointServiceIssues(spec, AZURE_ENDPOINT_SERVICES, { backend: "azure", unscopable: "its role would need wildcard data actions", endpoint: "private endpoint", servicesFile: "components/azure/services.ts" });
  const image = spec.workload.image;
  if (image !== undefined && !isAzureImage(image))
    issues.push({ path: "workload.image", value: image, message: "not an Azure image", fix: "use a URN publisher:offer:sku:version (e.g. Canonical:ubuntu-24_04-lts:server:latest) or an image resource id" });
  else if (image !== undefined && spec.confidential !== "none" && IMAGE_URN.test(image) && !/cvm/i.test(image.split(":")[2]))
    issues.push({ path: "workload.image", value: image, message: `a Confidential VM ('${spec.confidential}') needs a confidential image`, fix: "use a -cvm SKU, e.g. Canonical:0001-com-ubuntu-confidential-vm-jammy:22_04-lts-cvm:latest, or remove workload.image" });
  spec.targets.forEach((t, i) => {
    if (t.image !== undefined && !isAzureImage(t.image))
      issues.push({ path: `targets[${i}].image`, value: t.image, message: "not an Azure image", fix: "use a URN publisher:offer:sku:version or an image resource id that serves the target" });
  });
  return issues;
}
