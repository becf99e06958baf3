// AWS services a sandbox may reach through an interface VPC endpoint (`egress.allow[].via: endpoint`).
// Pure data, so validation can refuse an unknown service before anything is created: an endpoint
// whose IAM actions we do not know could only be opened with a wildcard policy, which Airlock never
// writes. Add a service here with the narrowest actions and resources it needs.

export interface EndpointService {
  /** IAM actions the workload's role (and the endpoint policy) allow. */
  actions: readonly string[];
  /** Resource ARNs those actions are limited to. */
  resources(partition: string, region: string, accountId: string): string[];
  /** The port the interface endpoint answers on. */
  port: number;
}

export const AWS_ENDPOINT_SERVICES: Readonly<Record<string, EndpointService>> = {
  // Model API (InvokeModel / Converse use bedrock:InvokeModel*). Foundation models have no account.
  "bedrock-runtime": {
    actions: ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
    resources: (p, region) => [`arn:${p}:bedrock:${region}::foundation-model/*`],
    port: 443,
  },
  // A model hosted on a SageMaker endpoint in the same account.
  "sagemaker-runtime": {
    actions: ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
    resources: (p, region, account) => [`arn:${p}:sagemaker:${region}:${account}:endpoint/*`],
    port: 443,
  },
};

export function endpointServiceName(region: string, service: string): string {
  return `com.amazonaws.${region}.${service}`;
}

/** The public DNS name of a regional service; private DNS on the endpoint makes it resolve inside. */
export function serviceHostname(region: string, service: string): string {
  return `${service}.${region}.amazonaws.com`;
}

export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}
