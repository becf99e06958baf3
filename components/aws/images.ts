// The machine images a sandbox boots, resolved and checked against the account before anything is
// created. An AMI id that only looks right (a placeholder, an image of another account or region, a
// deregistered one) used to fail at RunInstances — after the retained Object Lock record bucket
// already existed. Here every image is looked up with DescribeImages (`getAmi`), which Pulumi runs at
// preview too, and checked; the component hands the result to its provider's configuration, so no
// resource that uses that provider can be sent to the engine before the check has passed.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { SandboxSpec } from "../spec/schema";
import { SpecError, SpecIssue } from "../spec/issues";

/** The images of one sandbox, by what boots them. */
export interface SandboxImages {
  workload: string;
  gate: string;
  /** Target name -> AMI id. */
  targets: Record<string, string>;
}

/** What the checks read of a DescribeImages answer (GetAmiResult in node_modules/@pulumi/aws/ec2/getAmi.d.ts). */
export type ImageFacts = Pick<aws.ec2.GetAmiResult, "imageId" | "architecture" | "bootMode" | "state">;

/** Every instance type Airlock picks on AWS is x86_64 (the 6a families, t3): an arm64 image cannot boot on them. */
export const IMAGE_ARCHITECTURE = "x86_64";

/**
 * Boot modes an AMD SEV-SNP instance boots with. SEV-SNP needs UEFI (EC2 User Guide, "AMD SEV-SNP
 * requirements"); an AMI without a boot mode boots in the instance type's default, legacy BIOS on
 * the x86 types that offer both — so an empty value is refused too.
 */
export const SEV_SNP_BOOT_MODES = ["uefi", "uefi-preferred"];

/** Where an image is named in the spec, for the error (the gate's image is Airlock's own choice). */
export type ImageUse = { path: string; what: string; confidential?: SandboxSpec["confidential"] };

/** The issues of one resolved image; empty when it can boot what uses it. */
export function imageIssues(use: ImageUse, image: ImageFacts): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const other = use.path === "(gate)" ? "" : ", or another image";
  if (image.state !== "available")
    issues.push({ path: use.path, value: image.imageId, message: `the ${use.what}'s AMI is '${image.state}', not 'available'`, fix: `wait until the image is available${other}` });
  if (image.architecture !== IMAGE_ARCHITECTURE)
    issues.push({ path: use.path, value: image.imageId, message: `the ${use.what}'s AMI is for ${image.architecture}; Airlock's AWS instance types are ${IMAGE_ARCHITECTURE}`, fix: `use an ${IMAGE_ARCHITECTURE} image` });
  if (use.confidential === "sev-snp" && !SEV_SNP_BOOT_MODES.includes(image.bootMode))
    issues.push({
      path: use.path,
      value: image.imageId,
      message: `confidential: sev-snp boots only with UEFI, and this AMI's boot mode is '${image.bootMode || "unset (legacy-bios on this instance type)"}'`,
      fix: "use an image registered with --boot-mode uefi or uefi-preferred (e.g. Amazon Linux 2023: remove workload.image)",
    });
  return issues;
}

/** Amazon Linux 2023 (x86_64, uefi-preferred, so it also boots with SEV-SNP), newest at first deploy. */
function amazonLinux(opts: pulumi.InvokeOptions): Promise<ImageFacts> {
  return aws.ec2.getAmi(
    {
      owners: ["amazon"],
      mostRecent: true,
      filters: [
        { name: "name", values: ["al2023-ami-2023.*-kernel-*-x86_64"] },
        { name: "architecture", values: [IMAGE_ARCHITECTURE] },
        { name: "state", values: ["available"] },
      ],
    },
    opts,
  );
}

/**
 * One AMI by id. The `image-id` filter (no owner) finds exactly the images RunInstances may launch:
 * the account's own, those shared with it, public ones — in the provider's region. None found is
 * the provider's "Your query returned no results" error, at preview.
 */
function byId(id: string, opts: pulumi.InvokeOptions): Promise<ImageFacts> {
  return aws.ec2.getAmi({ filters: [{ name: "image-id", values: [id] }] }, opts);
}

interface Lookup {
  use: ImageUse;
  id?: string;
  found: Promise<ImageFacts>;
}

function notFound(l: Lookup, region: string, reason: unknown): SpecIssue {
  const why = String((reason as Error)?.message ?? reason).split("\n")[0];
  if (l.id === undefined)
    return { path: l.use.path, value: undefined, message: `no Amazon Linux 2023 image found in ${region} (${why})`, fix: "check the region and the account's access to Amazon-owned images, or name an image" };
  return { path: l.use.path, value: l.id, message: `no such AMI in ${region} that this account may launch (${why})`, fix: `use the id of an available image in ${region} that the account owns or is shared (an AMI id is per region; the example stacks' ids are placeholders)` };
}

/**
 * Resolves and checks every image of the spec; rejects with one SpecError naming each image field
 * that cannot boot or does not exist. `opts` must use a provider no sandbox resource depends on.
 */
export function resolveImages(spec: SandboxSpec, opts: pulumi.InvokeOptions): pulumi.Output<SandboxImages> {
  const region = spec.region!;
  const lookups: Lookup[] = [
    spec.workload.image === undefined
      ? { use: { path: "workload.image", what: "workload (Amazon Linux 2023)", confidential: spec.confidential }, found: amazonLinux(opts) }
      : { use: { path: "workload.image", what: "workload", confidential: spec.confidential }, id: spec.workload.image, found: byId(spec.workload.image, opts) },
    { use: { path: "(gate)", what: "gate (Amazon Linux 2023)" }, found: amazonLinux(opts) },
    ...spec.targets.map((t, i): Lookup => ({ use: { path: `targets[${i}].image`, what: `target '${t.name}'` }, id: t.image!, found: byId(t.image!, opts) })),
  ];
  const checked = Promise.allSettled(lookups.map((l) => l.found)).then((results) => {
    const issues = results.flatMap((r, i) => (r.status === "rejected" ? [notFound(lookups[i], region, r.reason)] : imageIssues(lookups[i].use, r.value)));
    if (issues.length) throw new SpecError(issues, `aws sandbox '${spec.name}' images (region ${region})`);
    const ids = results.map((r) => (r as PromiseFulfilledResult<ImageFacts>).value.imageId);
    return { workload: ids[0], gate: ids[1], targets: Object.fromEntries(spec.targets.map((t, i) => [t.name, ids[i + 2]])) };
  });
  return pulumi.output(checked);
}
