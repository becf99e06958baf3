// GCP sizing, TEE and region rules. Pure data: no @pulumi/gcp import, so the spec validates fast and
// every invalid combination is refused before anything is registered.
//
// Confidential VM facts (clouds.md §5 and §11, from the @pulumi/gcp 9.37 `.d.ts` of
// `InstanceConfidentialInstanceConfig` and the provider's tests):
// - `sev`     on N2D, C2D and C3D (AMD);
// - `sev-snp` on N2D only, with `minCpuPlatform: "AMD Milan"` (creation fails without it);
// - `tdx`     on C3 (Intel Sapphire Rapids);
// - `onHostMaintenance: TERMINATE` (live migration is offered only for SEV on Milan/Genoa; Airlock uses
//   TERMINATE for every instance, which is also what the platform TTL wants: no restarts).
// - `nitro-enclave` (AWS-only) and any other kind GCP does not offer are refused by the shared
//   `sizingIssues` (spec/backend-rules.ts) from `confidential` below; `validate` judges the rest.
// Regions: Airlock's table of where N2D-Milan SEV-SNP and C3 TDX are offered (Google's Confidential VM
// locations page, not re-checked here); a region outside it is refused, naming the known ones.
import type { BackendRules, SizingView } from "../spec/backend-rules";
import type { SpecIssue } from "../spec/issues";
import type { ConfidentialKind, SandboxSpecParsed } from "../spec/schema";
import { GiB } from "../spec/units";
import { GOOGLE_SERVICES, googleServiceOf } from "./services";

export const SEV_SNP_CPU_PLATFORM = "AMD Milan";
export const TEE_FAMILIES: Readonly<Record<"sev" | "sev-snp" | "tdx", readonly string[]>> = {
  sev: ["n2d", "c2d", "c3d"],
  "sev-snp": ["n2d"],
  tdx: ["c3"],
};
export const TEE_REGIONS: Readonly<Partial<Record<ConfidentialKind, readonly string[]>>> = {
  "sev-snp": ["us-central1", "europe-west4", "asia-southeast1"],
  tdx: ["us-central1", "europe-west4", "asia-southeast1"],
};
/** GCE's name for each kind (`confidentialInstanceType`). */
export const GCE_CONFIDENTIAL_TYPE: Readonly<Record<"sev" | "sev-snp" | "tdx", string>> = { sev: "SEV", "sev-snp": "SEV_SNP", tdx: "TDX" };

// vCPU ladders per family (standard / highmem / highcpu share them). GiB per vCPU: highcpu=1 (n2d) or 2 (c3),
// standard=4, highmem=8.
const LADDERS: Record<string, number[]> = {
  n2d: [2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224],
  c2d: [2, 4, 8, 16, 32, 56, 112],
  c3d: [4, 8, 16, 30, 60, 90, 180, 360],
  c3: [4, 8, 22, 44, 88, 176],
};
const SHAPES: [string, number][] = [["highcpu", 2], ["standard", 4], ["highmem", 8]];

/** The smallest `<family>-<shape>-<vcpus>` that fits cpus + memory. */
export function pickGcpMachineType(family: string, cpus: number, memoryBytes: number): string | undefined {
  for (const vcpus of LADDERS[family] ?? []) {
    if (vcpus < cpus) continue;
    for (const [shape, ratio] of SHAPES) if (vcpus * ratio * GiB >= memoryBytes) return `${family}-${shape}-${vcpus}`;
  }
  return undefined;
}

/** The family a TEE kind needs by default (none: N2D, which also runs `sev`). */
export function defaultFamily(kind: ConfidentialKind): string {
  return kind === "tdx" ? "c3" : "n2d";
}

export function gcpMachineType(view: SizingView): string | undefined {
  return view.machineType ?? pickGcpMachineType(defaultFamily(view.confidential), view.cpus, view.memoryBytes);
}

export function familyOf(machineType: string): string {
  return machineType.split("-")[0];
}

/** The zone a sandbox uses: one zone for everything (the sandbox is ephemeral). */
export function zoneOf(region: string): string {
  return `${region}-a`;
}

function teeIssues(view: SizingView, machineType: string): SpecIssue[] {
  const kind = view.confidential;
  if (kind !== "sev" && kind !== "sev-snp" && kind !== "tdx") return [];
  const issues: SpecIssue[] = [];
  const families = TEE_FAMILIES[kind];
  const family = familyOf(machineType);
  if (!families.includes(family)) {
    const amd = ["n2d", "c2d", "c3d"].includes(family);
    const why = kind === "tdx" && amd ? " (an AMD machine; TDX is Intel)" : kind === "sev-snp" && family !== "n2d" ? ` (SEV-SNP needs N2D on ${SEV_SNP_CPU_PLATFORM})` : "";
    issues.push({
      path: view.machineType ? "workload.machineType" : "confidential",
      value: machineType,
      message: `confidential '${kind}' is not offered on ${family.toUpperCase()}${why}`,
      fix: `use a machine type of ${families.map((f) => `${f}-*`).join(" | ")} (e.g. ${pickGcpMachineType(families[0], 2, 8 * GiB)}), or remove workload.machineType`,
    });
  }
  const regions = TEE_REGIONS[kind];
  if (regions && view.region && !regions.includes(view.region))
    issues.push({ path: "region", value: view.region, message: `confidential '${kind}' is offered only in ${regions.join(", ")} (Airlock's table)`, fix: `use region: one of ${regions.join(" | ")}` });
  return issues;
}

export const gcpRules: BackendRules = {
  backend: "gcp",
  confidential: ["sev", "sev-snp", "tdx"],
  validate(view: SizingView): SpecIssue[] {
    const machineType = gcpMachineType(view);
    if (!machineType)
      return [{ path: "workload.cpus", value: view.cpus, message: `no ${defaultFamily(view.confidential)} machine type fits this cpus + memory`, fix: "use fewer cpus / less memory, or set workload.machineType" }];
    if (!/^[a-z][a-z0-9]*-[a-z0-9-]+$/.test(machineType))
      return [{ path: "workload.machineType", value: machineType, message: "not a GCE machine type", fix: "use a name such as n2d-standard-4 or c3-standard-4" }];
    return teeIssues(view, machineType);
  },
  validateSpec: gcpSpecIssues,
};

/** A GCE image: `projects/<project>/global/images/<name>` or `.../images/family/<family>`. */
const IMAGE_RE = /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/global\/images\/(family\/)?[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** GCP rules over the whole spec: services Airlock can grant narrowly, image names, the lock mode. */
export function gcpSpecIssues(spec: SandboxSpecParsed): SpecIssue[] {
  const issues: SpecIssue[] = [];
  spec.egress.allow.forEach((e, i) => {
    if (e.via !== "endpoint" || !e.service) return;
    const found = googleServiceOf(e.service);
    if (!found)
      issues.push({
        path: `egress.allow[${i}].service`,
        value: e.service,
        message: "not a Google API the gcp backend can grant narrowly (it would need a project role)",
        fix: `use one of: ${Object.values(GOOGLE_SERVICES).map((s) => s.example).join(" | ")} (add others to components/gcp/services.ts)`,
      });
    else if (e.port !== found.def.port) issues.push({ path: `egress.allow[${i}].port`, value: e.port, message: `Google APIs answer on port ${found.def.port}`, fix: `set port: ${found.def.port} (listenPort may differ)` });
  });
  if (spec.workload.image !== undefined && !IMAGE_RE.test(spec.workload.image))
    issues.push({ path: "workload.image", value: spec.workload.image, message: "not a GCE image", fix: "use projects/<project>/global/images/<name> (or .../images/family/<family>), or remove it for Ubuntu 22.04 LTS" });
  spec.targets.forEach((t, i) => {
    if (t.image === undefined) issues.push({ path: `targets[${i}].image`, value: undefined, message: "a gcp target needs the image that serves it", fix: "add image: projects/<project>/global/images/<name>" });
    else if (!IMAGE_RE.test(t.image))
      issues.push({ path: `targets[${i}].image`, value: t.image, message: "not a GCE image", fix: "use projects/<project>/global/images/<name> of an image that serves the target" });
  });
  return issues;
}
