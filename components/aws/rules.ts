// AWS sizing and TEE rules. Pure data: no @pulumi/aws import, so the spec validates fast.
//
// Facts (see ../shared/reference/clouds.md §5 and the EC2 API reference):
// - AMD SEV-SNP (cpuOptions.amdSevSnp) is "supported with M6a, R6a, and C6a instance types only",
//   and offered in us-east-2 and eu-west-1.
// - Nitro Enclaves need a Nitro instance with at least 4 vCPUs (x86); burstable T families are excluded.
import type { BackendRules, SizingView } from "../spec/backend-rules";
import { endpointServiceIssues } from "../spec/backend-rules";
import type { SpecIssue } from "../spec/issues";
import type { SandboxSpecParsed } from "../spec/schema";
import { GiB } from "../spec/units";
import { AWS_ENDPOINT_SERVICES } from "./services";

export const SEV_SNP_FAMILIES = ["m6a", "r6a", "c6a"] as const;
export const SEV_SNP_REGIONS = ["us-east-2", "eu-west-1"] as const;
const ENCLAVE_MIN_VCPUS = 4;
const ENCLAVE_EXCLUDED = /^(t\d|a1|mac)/;

// vCPUs per size name; the 6a families share this ladder. GiB per vCPU: c=2, m=4, r=8.
const SIZE_LADDER: [string, number][] = [
  ["large", 2], ["xlarge", 4], ["2xlarge", 8], ["4xlarge", 16], ["8xlarge", 32],
  ["12xlarge", 48], ["16xlarge", 64], ["24xlarge", 96], ["32xlarge", 128], ["48xlarge", 192],
];
const FAMILY_BY_GIB_PER_VCPU: [number, string][] = [[2, "c6a"], [4, "m6a"], [8, "r6a"]];

/** Picks the smallest AMD 6a-family instance that fits cpus + memory (also valid for SEV-SNP). */
export function pickAwsInstanceType(cpus: number, memoryBytes: number): string | undefined {
  for (const [size, vcpus] of SIZE_LADDER) {
    for (const [ratio, family] of FAMILY_BY_GIB_PER_VCPU) {
      if (vcpus >= cpus && vcpus * ratio * GiB >= memoryBytes) return `${family}.${size}`;
    }
  }
  return undefined;
}

/** vCPUs of a known instance type (6a families), or undefined when we cannot tell offline. */
function vcpusOf(instanceType: string): number | undefined {
  const size = instanceType.split(".")[1];
  return SIZE_LADDER.find(([s]) => s === size)?.[1];
}

export function awsInstanceType(view: SizingView): string | undefined {
  return view.machineType ?? pickAwsInstanceType(view.cpus, view.memoryBytes);
}

export const awsRules: BackendRules = {
  backend: "aws",
  confidential: ["sev-snp", "nitro-enclave"],
  // SNS subscriptions on the alert topic (killswitch.ts).
  alertChannels: ["email", "webhook"],
  validate(view: SizingView): SpecIssue[] {
    const issues: SpecIssue[] = [];
    const type = awsInstanceType(view);
    if (!type) {
      issues.push({ path: "workload.cpus", value: view.cpus, message: "no m6a/c6a/r6a size fits this cpus + memory", fix: "use at most 192 cpus and 1536GiB, or set workload.machineType" });
      return issues;
    }
    const family = type.split(".")[0];
    if (view.confidential === "sev-snp") {
      if (!(SEV_SNP_FAMILIES as readonly string[]).includes(family))
        issues.push({ path: "confidential", value: type, message: "'sev-snp' needs an m6a/r6a/c6a instance", fix: "remove workload.machineType (Airlock picks an m6a/r6a/c6a size) or set it to e.g. m6a.large" });
      if (view.region && !(SEV_SNP_REGIONS as readonly string[]).includes(view.region))
        issues.push({ path: "region", value: view.region, message: `confidential 'sev-snp' is offered only in ${SEV_SNP_REGIONS.join(", ")}`, fix: `use region: ${SEV_SNP_REGIONS[0]} or ${SEV_SNP_REGIONS[1]}` });
    }
    if (view.confidential === "nitro-enclave") {
      const vcpus = vcpusOf(type);
      if (ENCLAVE_EXCLUDED.test(family))
        issues.push({ path: "workload.machineType", value: type, message: "'nitro-enclave' is not available on this instance family", fix: "use a Nitro instance with >= 4 vCPUs, e.g. m6a.xlarge" });
      else if (vcpus !== undefined && vcpus < ENCLAVE_MIN_VCPUS)
        issues.push({ path: "workload.cpus", value: view.cpus, message: `'nitro-enclave' needs an instance with >= ${ENCLAVE_MIN_VCPUS} vCPUs (${type} has ${vcpus})`, fix: `set workload.cpus: ${ENCLAVE_MIN_VCPUS} (or a machineType such as m6a.xlarge)` });
    }
    return issues;
  },
  validateSpec: awsSpecIssues,
};

const AMI_RE = /^ami-[0-9a-f]{8,17}$/;

/**
 * AWS-specific rules over the whole spec: every endpoint service must be one whose IAM actions we
 * know (so the endpoint and role policies can be scoped, never wildcarded), on the port interface
 * endpoints answer on, and images must be AMI ids.
 */
export function awsSpecIssues(spec: SandboxSpecParsed): SpecIssue[] {
  const issues: SpecIssue[] = endpointServiceIssues(spec, AWS_ENDPOINT_SERVICES, { backend: "aws", unscopable: "its endpoint and IAM policy would need wildcards", endpoint: "interface endpoint", servicesFile: "components/aws/services.ts" });
  if (spec.workload.image !== undefined && !AMI_RE.test(spec.workload.image))
    issues.push({ path: "workload.image", value: spec.workload.image, message: "not an AMI id", fix: "use an AMI id such as ami-0123456789abcdef0, or remove it for Amazon Linux 2023" });
  // The alert topic exists only to carry detections; with canaries off there is none to subscribe to.
  if (!spec.canaries.enabled)
    for (const c of ["email", "webhook"] as const)
      if (spec.alerts[c] !== undefined) issues.push({ path: `alerts.${c}`, value: spec.alerts[c], message: "canaries.enabled is false: an AWS sandbox has no detections to alert on", fix: `remove alerts.${c}, or turn canaries back on` });
  spec.targets.forEach((t, i) => {
    if (t.image !== undefined && !AMI_RE.test(t.image))
      issues.push({ path: `targets[${i}].image`, value: t.image, message: "not an AMI id", fix: "use the AMI id of an image that serves the target, e.g. ami-0123456789abcdef0" });
  });
  return issues;
}
