// Mock provider answers for @pulumi/aws: ids shaped like AWS's (vpc-…, sg-…, i-…), ARNs, auto-names
// and the few computed outputs the AwsSandbox reads (S3 prefix list and its ranges, default route table, bucket name).
import { shortHash } from "../naming";
import type { CloudMocks, MockContext } from "../invariants/mock-types";
import { SHARED_TRAIL_NAME, sharedTrailSelectors, type EventSelector } from "./trail-coverage";

/** The S3 gateway endpoint's `cidrBlocks` (its prefix list's ranges): the guest firewall's only HTTPS for the system. */
export const MOCK_S3_RANGES = ["3.5.0.0/19", "52.216.0.0/15", "54.231.0.0/16"] as const;

/** Id prefixes AWS uses, by type token. Types not listed get `<name>-id`. */
const ID_PREFIX: Record<string, string> = {
  "aws:ec2/vpc:Vpc": "vpc",
  "aws:ec2/subnet:Subnet": "subnet",
  "aws:ec2/routeTable:RouteTable": "rtb",
  "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
  "aws:ec2/securityGroup:SecurityGroup": "sg",
  "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg",
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr",
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
  "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
  "aws:ec2/instance:Instance": "i",
  "aws:ec2/internetGateway:InternetGateway": "igw",
  "aws:ec2/natGateway:NatGateway": "nat",
  "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway": "eigw",
  "aws:ec2/flowLog:FlowLog": "fl",
  "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList": "rslvr-fdl",
  "aws:route53/resolverFirewallRuleGroup:ResolverFirewallRuleGroup": "rslvr-frg",
  "aws:route53/resolverFirewallRuleGroupAssociation:ResolverFirewallRuleGroupAssociation": "rslvr-frgassoc",
};

function module(type: string): string {
  return type.split(":")[1]?.split("/")[0] ?? "";
}

function arnFor(type: string, name: string, id: string, ctx: MockContext): string {
  const a = ctx.account;
  const r = ctx.region;
  switch (type) {
    case "aws:s3/bucket:Bucket":
      return `arn:aws:s3:::${name}`;
    case "aws:iam/role:Role":
      return `arn:aws:iam::${a}:role/${name}`;
    case "aws:iam/user:User":
      return `arn:aws:iam::${a}:user/${name}`;
    case "aws:iam/instanceProfile:InstanceProfile":
      return `arn:aws:iam::${a}:instance-profile/${name}`;
    case "aws:ec2/instance:Instance":
      return `arn:aws:ec2:${r}:${a}:instance/${id}`;
    case "aws:cloudwatch/eventRule:EventRule":
      return `arn:aws:events:${r}:${a}:rule/${name}`;
    case "aws:sns/topic:Topic":
      return `arn:aws:sns:${r}:${a}:${name}`;
    case "aws:cloudtrail/trail:Trail":
      return `arn:aws:cloudtrail:${r}:${a}:trail/${name}`;
    default:
      return `arn:aws:${module(type)}:${r}:${a}:${type.split(":").pop()!.toLowerCase()}/${id}`;
  }
}

/** One image of the mock account, as DescribeImages (getAmi) reports it. */
export interface MockImage {
  imageId: string;
  name: string;
  architecture: string;
  /** "legacy-bios" | "uefi" | "uefi-preferred", or "" for an image registered without one. */
  bootMode: string;
  state: string;
}

export interface MockAccountImages {
  /** Images the account holds beside the defaults (an id here wins over `missing`). */
  images?: MockImage[];
  /** Well-formed ids the account does not have (a placeholder, another region's image). */
  missing?: string[];
  /**
   * The account's Airlock trail as Cloud Control describes it, or "absent" (the account program never
   * ran). Default: what the account program (account-trail.ts) deploys, in every region.
   */
  trail?: MockTrail | "absent";
}

/** A trail of the mock account (Cloud Control's AWS::CloudTrail::Trail properties, in provider shape). */
export interface MockTrail {
  /** Home region (default: the stack's). */
  region?: string;
  isLogging: boolean;
  isMultiRegion: boolean;
  selectors: EventSelector[];
}

/** What `airlock check` assumes of an account it cannot see: the account program has run. */
export const MOCK_ACCOUNT_TRAIL: MockTrail = { isLogging: true, isMultiRegion: true, selectors: sharedTrailSelectors("aws") };

/** Cloud Control's "no such resource" (the GetResource error for an absent trail). */
export const NO_TRAIL_ERROR = `ResourceNotFoundException: AWS::CloudTrail::Trail Handler returned status FAILED: Trail ${SHARED_TRAIL_NAME} not found`;

const trailArnOf = (trail: MockTrail, ctx: MockContext) => `arn:aws:cloudtrail:${trail.region ?? ctx.region}:${ctx.account}:trail/${SHARED_TRAIL_NAME}`;

/** GetResource of AWS::CloudTrail::Trail, in the CloudFormation schema's property names. */
function describeTrailResource(inputs: Record<string, any>, trail: MockTrail | "absent", ctx: MockContext): Record<string, any> {
  if (inputs.typeName !== "AWS::CloudTrail::Trail") throw new Error(`the mock describes trails only; got ${inputs.typeName}`);
  if (trail === "absent" || inputs.identifier !== SHARED_TRAIL_NAME || (trail.region && inputs.region && trail.region !== inputs.region)) throw new Error(NO_TRAIL_ERROR);
  const cfn = {
    TrailName: SHARED_TRAIL_NAME,
    Arn: trailArnOf(trail, ctx),
    IsLogging: trail.isLogging,
    IsMultiRegionTrail: trail.isMultiRegion,
    AdvancedEventSelectors: trail.selectors.map((s) => ({
      Name: s.name,
      FieldSelectors: s.fieldSelectors.map((f) => ({ Field: f.field, Equals: f.equals, StartsWith: f.startsWiths, NotStartsWith: f.notStartsWiths, EndsWith: f.endsWiths, NotEndsWith: f.notEndsWiths, NotEquals: f.notEquals })),
    })),
  };
  return { id: SHARED_TRAIL_NAME, identifier: SHARED_TRAIL_NAME, typeName: inputs.typeName, region: inputs.region ?? ctx.region, properties: JSON.stringify(cfn) };
}

/** The newest Amazon Linux 2023 image of the mock account (what the gate, and a workload without an image, boot). */
export const MOCK_AMAZON_LINUX: MockImage = { imageId: "ami-0a1b2c3d4e5f60718", name: "al2023-ami-2023.6.20250101.0-kernel-6.1-x86_64", architecture: "x86_64", bootMode: "uefi-preferred", state: "available" };

/** The Terraform AWS provider's error for a getAmi lookup that finds nothing. */
export const NO_IMAGE_ERROR = "Your query returned no results. Please change your search criteria and try again.";

/**
 * getAmi as DescribeImages answers it: by `image-id` filter, or the Amazon Linux name filter.
 * `airlock check` cannot see the operator's account, so an id it is not told about is taken to
 * exist as a UEFI x86_64 image (the example stacks' placeholders pass offline; a real `pulumi
 * preview` resolves them against the account); tests name the images an account has and lacks.
 */
function describeImage(inputs: Record<string, any>, account: MockAccountImages): Record<string, any> {
  const filters: { name: string; values: string[] }[] = inputs.filters ?? [];
  const id = filters.find((f) => f.name === "image-id")?.values;
  let image: MockImage | undefined;
  if (id) {
    if (id.length !== 1) throw new Error("the mock answers one image-id at a time");
    image = account.images?.find((i) => i.imageId === id[0]) ?? (account.missing?.includes(id[0]) ? undefined : { imageId: id[0], name: `mock-image-${id[0]}`, architecture: "x86_64", bootMode: "uefi", state: "available" });
  } else if (filters.some((f) => f.name === "name" && f.values.some((v) => v.startsWith("al2023-ami-")))) {
    image = MOCK_AMAZON_LINUX;
  }
  if (!image) throw new Error(NO_IMAGE_ERROR);
  return { ...image, id: image.imageId, arn: `arn:aws:ec2:::image/${image.imageId}` };
}

/** The AWS mocks of an account that holds `images` (and lacks `missing`). */
export function awsAccountMocks(account: MockAccountImages = {}): CloudMocks {
  return {
    ...awsMocks,
    call: (token, inputs, ctx) =>
      token === "aws:ec2/getAmi:getAmi" ? describeImage(inputs, account) : token === CLOUD_CONTROL_GET ? describeTrailResource(inputs, account.trail ?? MOCK_ACCOUNT_TRAIL, ctx) : awsMocks.call(token, inputs, ctx),
  };
}

const CLOUD_CONTROL_GET = "aws:cloudcontrol/getResource:getResource";

export const awsMocks: CloudMocks = {
  handles: (type) => type.startsWith("aws:") || type === "pulumi:providers:aws",

  newResource(type, logicalName, inputs, ctx) {
    if (type === "pulumi:providers:aws") return { id: `${logicalName}-provider`, state: inputs };
    const hash = shortHash(`${type}::${logicalName}`, 17);
    // Physical names: the explicit one, else the logical name (Pulumi would append a random suffix).
    const prefixed = (prefix: unknown) => (typeof prefix === "string" ? `${prefix}${shortHash(logicalName, 8)}` : undefined);
    const name =
      (type === "aws:s3/bucket:Bucket" ? (inputs.bucket ?? prefixed(inputs.bucketPrefix)) : (inputs.name ?? prefixed(inputs.namePrefix))) ?? logicalName;
    let id = ID_PREFIX[type] ? `${ID_PREFIX[type]}-${hash}` : `${logicalName}-id`;
    const state: Record<string, any> = { ...inputs, name };
    switch (type) {
      case "aws:s3/bucket:Bucket":
        id = name;
        state.bucket = name;
        break;
      case "aws:iam/role:Role":
      case "aws:iam/user:User":
      case "aws:iam/instanceProfile:InstanceProfile":
      case "aws:cloudwatch/eventRule:EventRule":
      case "aws:scheduler/scheduleGroup:ScheduleGroup":
        id = name;
        break;
      case "aws:iam/accessKey:AccessKey":
        id = `AKIA${shortHash(logicalName, 16).toUpperCase()}`;
        state.secret = `mock-secret-${shortHash(logicalName, 24)}`;
        break;
      case "aws:ec2/vpc:Vpc":
        state.defaultRouteTableId = `rtb-main-${hash}`;
        state.defaultSecurityGroupId = `sg-default-${hash}`;
        state.defaultNetworkAclId = `acl-default-${hash}`;
        break;
      case "aws:ec2/vpcEndpoint:VpcEndpoint":
        if (inputs.vpcEndpointType === "Gateway") {
          state.prefixListId = `pl-${hash}`;
          // The provider reports the prefix list's ranges (S3's, e.g. us-east-1's, as the console lists them).
          state.cidrBlocks = [...MOCK_S3_RANGES];
        }
        break;
      case "aws:ec2/instance:Instance":
        state.privateIp = inputs.privateIp ?? "10.0.0.99";
        break;
      case "aws:sns/topic:Topic":
        id = arnFor(type, name, id, ctx);
        break;
    }
    state.arn = inputs.arn ?? arnFor(type, name, id, ctx);
    state.id = id;
    return { id, state };
  },

  call(token, _inputs, ctx) {
    switch (token) {
      case "aws:index/getCallerIdentity:getCallerIdentity":
        return { accountId: ctx.account, arn: `arn:aws:iam::${ctx.account}:user/airlock-check`, userId: "AIDAMOCK", id: ctx.account };
      case "aws:index/getAvailabilityZones:getAvailabilityZones": {
        // An account that opted into a Local Zone: it is listed first unless the caller filters it out.
        const regular = ["a", "b", "c"].map((z) => `${ctx.region}${z}`);
        const filters: { name: string; values: string[] }[] = _inputs.filters ?? [];
        const optInFree = filters.some((f) => f.name === "opt-in-status" && f.values.length === 1 && f.values[0] === "opt-in-not-required");
        const names = optInFree ? regular : [`${ctx.region}-lax-1a`, ...regular];
        return { id: ctx.region, names, zoneIds: names.map((_, i) => `az${i + 1}`) };
      }
      case "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": {
        // Not every zone offers every type: m6a (SEV-SNP capable) only in the b and c zones here.
        const type: string = (_inputs.filters ?? []).find((f: any) => f.name === "instance-type")?.values?.[0] ?? "";
        const zones = (type.startsWith("m6a") ? ["b", "c"] : ["a", "b", "c"]).map((z) => `${ctx.region}${z}`);
        return { id: ctx.region, locations: zones, locationTypes: zones.map(() => "availability-zone"), instanceTypes: zones.map(() => type) };
      }
      case "aws:ec2/getAmi:getAmi":
        return describeImage(_inputs, {});
      case CLOUD_CONTROL_GET:
        return describeTrailResource(_inputs, MOCK_ACCOUNT_TRAIL, ctx);
      default:
        return undefined;
    }
  },
};
