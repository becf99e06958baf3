// First-boot scripts (user data) of the AWS sandbox's instances: the shared scripts of
// ../cloud/boot.ts with AWS's store access — the AWS CLI (on every Amazon Linux image) with the
// instance role's credentials, through the S3 gateway endpoint: the record bucket (PutObject under the
// instance's own prefix) and the artifacts bucket (GetObject). Pure functions over plain strings.
import { renderGateScript, renderTargetScript, renderWorkloadScript, sq, GateSetup, StoreAccess, TOXIPROXY_ADMIN_PORT, WorkloadSetup } from "../cloud/boot";
import type { GuestGuardConfig } from "../guest/config";

export { TOXIPROXY_ADMIN_PORT };
export { homeDirOf } from "../cloud/boot";

export interface CommonBoot {
  region: string;
  /** Record bucket name and this instance's prefix in it (ending in '/'). */
  logBucket: string;
  logPrefix: string;
}

/** The AWS CLI to S3, through the gateway endpoint. `artifactsBucket` only for instances that fetch artifacts. */
export function awsStoreAccess(b: CommonBoot & { artifactsBucket?: string }): StoreAccess {
  const region = `--region ${sq(b.region)} --only-show-errors`;
  return {
    putRecord: `aws s3 cp "$src" ${sq(`s3://${b.logBucket}/${b.logPrefix}`)}"$name" ${region}`,
    getArtifact: (key, dest) => {
      if (!b.artifactsBucket) throw new Error("this instance reads no artifacts (no artifactsBucket)");
      return `aws s3 cp ${sq(`s3://${b.artifactsBucket}/${key}`)} ${sq(dest)} ${region}`;
    },
  };
}

export interface WorkloadBoot extends CommonBoot {
  artifactsBucket: string;
  setup: WorkloadSetup;
  guard: GuestGuardConfig;
}

export function renderWorkloadUserData(b: WorkloadBoot): string {
  return renderWorkloadScript({ access: awsStoreAccess(b), setup: b.setup, guard: b.guard });
}

export type GateBoot = CommonBoot & GateSetup & { artifactsBucket: string };

export function renderGateUserData(b: GateBoot): string {
  return renderGateScript(awsStoreAccess(b), b);
}

/** Targets run their own image; they only get the expiry timer (their AMI may lack the AWS CLI). */
export function renderTargetUserData(ttlSeconds: number): string {
  return renderTargetScript(ttlSeconds);
}
