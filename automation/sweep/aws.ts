// AWS: the sandbox label is found with the Resource Groups Tagging API (GetResources with a TagFilters
// key-only filter: every resource that has the key, any value), and a resource no stack owns is deleted
// through the Cloud Control API (DeleteResource: one generic call for every type below).
//   https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html
//   https://docs.aws.amazon.com/cloudcontrolapi/latest/APIReference/API_DeleteResource.html
// Both are JSON-over-POST APIs (X-Amz-Target), signed with SigV4 (sigv4.ts).
import { LABEL_KEYS } from "../../components/naming";
import { AwsCredentials, signRequest } from "./sigv4";
import { CloudInventory, Http, HttpRequest, jsonCall, TaggedResource } from "./types";

/** ARN resource part -> Cloud Control type name and identifier, for the types Airlock's AWS component makes. */
const CLOUD_CONTROL: { service: string; prefix: string; typeName: string; rank: number; identifier?: (rest: string, arn: string) => string }[] = [
  { service: "ec2", prefix: "instance/", typeName: "AWS::EC2::Instance", rank: 0 },
  { service: "scheduler", prefix: "schedule/", typeName: "AWS::Scheduler::Schedule", rank: 0, identifier: (rest) => rest.split("/").pop()! },
  { service: "events", prefix: "rule/", typeName: "AWS::Events::Rule", rank: 0, identifier: (_rest, arn) => arn },
  { service: "cloudwatch", prefix: "alarm:", typeName: "AWS::CloudWatch::Alarm", rank: 0 },
  { service: "ec2", prefix: "vpc-flow-log/", typeName: "AWS::EC2::FlowLog", rank: 1 },
  { service: "ec2", prefix: "vpc-endpoint/", typeName: "AWS::EC2::VPCEndpoint", rank: 1 },
  { service: "ec2", prefix: "network-interface/", typeName: "AWS::EC2::NetworkInterface", rank: 1 },
  { service: "route53resolver", prefix: "firewall-rule-group-association/", typeName: "AWS::Route53Resolver::FirewallRuleGroupAssociation", rank: 1 },
  { service: "ec2", prefix: "security-group/", typeName: "AWS::EC2::SecurityGroup", rank: 2 },
  { service: "ec2", prefix: "route-table/", typeName: "AWS::EC2::RouteTable", rank: 2 },
  { service: "ec2", prefix: "internet-gateway/", typeName: "AWS::EC2::InternetGateway", rank: 2 },
  { service: "ec2", prefix: "subnet/", typeName: "AWS::EC2::Subnet", rank: 3 },
  { service: "ec2", prefix: "vpc/", typeName: "AWS::EC2::VPC", rank: 4 },
  { service: "iam", prefix: "instance-profile/", typeName: "AWS::IAM::InstanceProfile", rank: 5, identifier: (rest) => rest.split("/").pop()! },
  { service: "iam", prefix: "role/", typeName: "AWS::IAM::Role", rank: 6, identifier: (rest) => rest.split("/").pop()! },
  { service: "sns", prefix: "", typeName: "AWS::SNS::Topic", rank: 5, identifier: (_rest, arn) => arn },
  { service: "logs", prefix: "log-group:", typeName: "AWS::Logs::LogGroup", rank: 5, identifier: (rest) => rest.replace(/:\*$/, "") },
  { service: "s3", prefix: "", typeName: "AWS::S3::Bucket", rank: 7 },
];

function parseArn(arn: string): { service: string; resource: string } | undefined {
  const parts = arn.split(":");
  if (parts[0] !== "arn" || parts.length < 6) return undefined;
  return { service: parts[2], resource: parts.slice(5).join(":") };
}

/** The Cloud Control call that deletes `arn`, or undefined for a type the sweeper does not know. */
export function cloudControlTarget(arn: string): { typeName: string; identifier: string; rank: number } | undefined {
  const p = parseArn(arn);
  if (!p) return undefined;
  const entry = CLOUD_CONTROL.find((e) => e.service === p.service && p.resource.startsWith(e.prefix));
  if (!entry) return undefined;
  const rest = p.resource.slice(entry.prefix.length);
  return { typeName: entry.typeName, identifier: entry.identifier ? entry.identifier(rest, arn) : rest, rank: entry.rank };
}

export interface AwsInventoryOptions {
  region: string;
  credentials: AwsCredentials;
  http: Http;
  now?: () => Date;
}

/** The Tagging API's type for a mapping: `service:resource-type` from the ARN (e.g. ec2:instance). */
function typeOf(arn: string): string {
  const p = parseArn(arn);
  if (!p) return "unknown";
  const kind = p.resource.split(/[/:]/)[0];
  return p.resource.includes("/") || p.resource.includes(":") ? `${p.service}:${kind}` : p.service;
}

export function awsInventory(o: AwsInventoryOptions): CloudInventory {
  const key = LABEL_KEYS.tags.sandbox;
  const call = (service: string, host: string, target: string, version: "1.0" | "1.1", payload: unknown): Promise<any> => {
    const req: HttpRequest = {
      method: "POST",
      url: `https://${host}.${o.region}.amazonaws.com/`,
      headers: { "content-type": `application/x-amz-json-${version}`, "x-amz-target": target },
      body: JSON.stringify(payload),
    };
    return jsonCall(o.http, signRequest(req, o.credentials, o.region, service, o.now?.()));
  };
  return {
    backend: "aws",
    labelStyle: "tags",
    scope: `AWS region ${o.region}`,
    async list() {
      const out: TaggedResource[] = [];
      let token: string | undefined;
      do {
        const page = await call("tagging", "tagging", "ResourceGroupsTaggingAPI_20170126.GetResources", "1.1", {
          TagFilters: [{ Key: key }],
          ResourcesPerPage: 100,
          ...(token ? { PaginationToken: token } : {}),
        });
        for (const m of page.ResourceTagMappingList ?? []) {
          const labels = Object.fromEntries((m.Tags ?? []).map((t: { Key: string; Value: string }) => [t.Key, t.Value]));
          // "Previously tagged" resources come back with the key gone: not ours any more.
          if (labels[key] !== undefined) out.push({ id: m.ResourceARN, type: typeOf(m.ResourceARN), labels });
        }
        token = page.PaginationToken || undefined;
      } while (token);
      return out;
    },
    async remove(r) {
      const target = cloudControlTarget(r.id);
      if (!target) throw new Error(`no direct deletion for ${r.type}; delete it in the console or through its stack`);
      await call("cloudcontrolapi", "cloudcontrolapi", "CloudApiService.DeleteResource", "1.0", { TypeName: target.typeName, Identifier: target.identifier });
    },
    removalRank(r) {
      return cloudControlTarget(r.id)?.rank ?? 8;
    },
  };
}

/** Credentials and region from the standard AWS environment variables; a clear error when absent. */
export function awsFromEnvironment(env: NodeJS.ProcessEnv, http: Http, region?: string): CloudInventory {
  const r = region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!r) throw new Error("no AWS region: pass --region or set AWS_REGION");
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY)
    throw new Error("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), e.g. with `eval $(aws configure export-credentials --format env)`");
  return awsInventory({ region: r, credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }, http });
}
