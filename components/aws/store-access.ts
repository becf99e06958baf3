// How the AWS sandbox's first-boot scripts (user data: the shared scripts of ../cloud/boot.ts) reach
// their stores — the AWS CLI (on every Amazon Linux image) with the
// instance role's credentials, through the S3 gateway endpoint: the record bucket (PutObject under the
// instance's own prefix) and the artifacts bucket (GetObject). Pure functions over plain strings.
import { sq, StoreAccess } from "../cloud/boot";

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
