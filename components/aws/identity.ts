// One role + instance profile per instance. The only grants: read this sandbox's artifacts, append
// to this instance's own prefix in the record, and (workload only) the actions of the endpoint
// services the spec lists, on those services' resources. No managed policies (so no Session Manager
// or any other inbound control channel), no wildcard actions.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { AwsContext } from "./context";
import { assumeRolePolicy, policyDocument, s3ObjectArn, Statement } from "./policies";
import { INSTANCE_LOG_PREFIX } from "./record";
import { AWS_ENDPOINT_SERVICES } from "./services";

export interface InstanceIdentity {
  role: aws.iam.Role;
  profile: aws.iam.InstanceProfile;
  /** This instance's prefix in the record bucket (ends with '/'). */
  logPrefix: string;
}

export interface IdentityGrants {
  artifactsBucket?: pulumi.Input<string>;
  logBucket: pulumi.Input<string>;
  endpointServices?: string[];
}

export function instanceIdentity(ctx: AwsContext, part: string, grants: IdentityGrants): InstanceIdentity {
  const logPrefix = `${INSTANCE_LOG_PREFIX}${part}/`;
  const role = new aws.iam.Role(ctx.name(`${part}-role`), { namePrefix: ctx.quietName(part), assumeRolePolicy: assumeRolePolicy("ec2.amazonaws.com"), description: `Airlock sandbox ${ctx.identity.id}: ${part}` }, ctx.opts());
  const statements = pulumi.all([grants.artifactsBucket, grants.logBucket, ctx.accountId]).apply(([artifacts, logs, account]) => {
    const s: Statement[] = [{ Sid: "AppendOwnRecord", Effect: "Allow", Action: ["s3:PutObject"], Resource: [s3ObjectArn(ctx.partition, logs, `${logPrefix}*`)] }];
    if (artifacts) s.push({ Sid: "ReadArtifacts", Effect: "Allow", Action: ["s3:GetObject"], Resource: [s3ObjectArn(ctx.partition, artifacts, "*")] });
    for (const service of grants.endpointServices ?? []) {
      const def = AWS_ENDPOINT_SERVICES[service];
      s.push({ Sid: `Use${service.replace(/[^A-Za-z0-9]/g, "")}`, Effect: "Allow", Action: [...def.actions], Resource: def.resources(ctx.partition, ctx.region, account) });
    }
    return s;
  });
  new aws.iam.RolePolicy(ctx.name(`${part}-policy`), { role: role.name, policy: policyDocument(statements) }, ctx.opts());
  const profile = new aws.iam.InstanceProfile(ctx.name(`${part}-profile`), { namePrefix: ctx.quietName(part), role: role.name }, ctx.opts());
  return { role, profile, logPrefix };
}
