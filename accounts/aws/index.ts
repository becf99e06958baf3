// The account program: what every AWS sandbox of an account relies on and no sandbox may create — today
// the one shared CloudTrail trail (components/aws/account-trail.ts). Run once per account, before the
// first sandbox, from the repository root:
//     pulumi -C accounts/aws stack init <account> && pulumi -C accounts/aws config set aws:region us-east-2
//     pulumi -C accounts/aws up --stack <account>
// A sandbox stack looks the trail up in its own region, or in `airlock:trailRegion` if set.
import * as pulumi from "@pulumi/pulumi";
import { AwsAccountTrail } from "../../components/aws/account-trail";

const region = new pulumi.Config("aws").require("region");
const config = new pulumi.Config("airlock");
const lockMode = config.get("trailLockMode") as "compliance" | "governance" | undefined;
if (lockMode !== undefined && lockMode !== "compliance" && lockMode !== "governance") {
  throw new Error(`airlock:trailLockMode: '${lockMode}' is not a lock mode — fix: compliance (the default) or governance`);
}
const account = new AwsAccountTrail("airlock-account", { region, lockMode, retentionDays: config.getNumber("trailRetentionDays") });

export const trailName = account.trailName;
export const trailArn = account.trailArn;
export const trailLogBucket = account.logBucket;
