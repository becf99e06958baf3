// IAM / resource policy documents as data. Every Allow names its actions one by one: Airlock never
// writes a wildcard action, and `Resource: "*"` only for the few read-only EC2 calls that have no
// resource-level permissions (see the I4 rule table).
import * as pulumi from "@pulumi/pulumi";

type In<T> = pulumi.Input<T>;

/** A policy statement; values may be Outputs (ARNs of resources created alongside). No NotAction. */
export interface Statement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Principal?: "*" | Record<string, In<string> | In<string>[]>;
  Action: string | string[];
  Resource: In<string> | In<string>[];
  Condition?: Record<string, Record<string, In<string> | In<string>[]>>;
}

export function policyDocument(statements: In<Statement[]> | Statement[]): pulumi.Output<string> {
  return pulumi.output(statements as In<Statement[]>).apply((s) => JSON.stringify({ Version: "2012-10-17", Statement: s }));
}

/** Trust policy for a service principal, optionally limited to calls on behalf of this account. */
export function assumeRolePolicy(service: string, sourceAccount?: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.output(sourceAccount).apply((account) =>
    JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: service },
          Action: "sts:AssumeRole",
          ...(account ? { Condition: { StringEquals: { "aws:SourceAccount": account } } } : {}),
        },
      ],
    }),
  );
}

export const s3ObjectArn = (partition: string, bucket: string, keyPattern: string) => `arn:${partition}:s3:::${bucket}/${keyPattern}`;
export const s3BucketArn = (partition: string, bucket: string) => `arn:${partition}:s3:::${bucket}`;
