// Canaries.
//
// Placed: one bait file per `canaries.files` entry in the workload user's home (written by the startup
// script), the same content as an object under `canaries/` in the artifacts bucket, and — with
// `canaries.credential` — a service account with no role anywhere whose key file is planted at
// CANARY_KEY_PATH (not the ADC path: the SDKs' default credential chain must keep using the
// instance's own service account, so only deliberate use of the key is seen).
// Watched: Data Access audit logs (DATA_READ) for Cloud Storage, so that reading a canary object is
// logged. That setting is project-wide and billed (clouds.md §11): use a project for evaluations.
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import type { GcpContext } from "./context";
import { CANARY_KEY_PATH, CANARY_PREFIX, canaryFileContent } from "./bait";
import { shortHash } from "../naming";
import { plantCanaries } from "../cloud/canary-files";


export interface CanaryPlan {
  homeFiles: pulumi.Output<Record<string, string>>;
  objects: gcp.storage.BucketObject[];
  /** The canary service account (no grants), when canaries.credential is on. */
  account?: gcp.serviceaccount.Account;
}

export function placeCanaries(ctx: GcpContext, artifactsBucket: gcp.storage.Bucket): CanaryPlan {
  let account: gcp.serviceaccount.Account | undefined;
  const planted = plantCanaries<string, gcp.storage.BucketObject>(ctx.spec.canaries, {
    credentialPath: CANARY_KEY_PATH,
    mintCredential: () => {
      // A plausible name: whoever uses the key sees it in the permission-denied message.
      const sa = (account = new gcp.serviceaccount.Account(ctx.name("ops-admin-sa"), { accountId: `ops-admin-${shortHash(ctx.identity.id, 6)}`, displayName: "ops admin" }, ctx.opts()));
      const key = new gcp.serviceaccount.Key(ctx.name("ops-admin-key"), { serviceAccountId: sa.name, privateKeyType: "TYPE_GOOGLE_CREDENTIALS_FILE" }, ctx.opts());
      // privateKey is the credentials JSON, base64-encoded (@pulumi/gcp KeyState.privateKey).
      return key.privateKey.apply((b64) => Buffer.from(b64, "base64").toString("utf8"));
    },
    content: (p, keyFile) => canaryFileContent(ctx.identity.id, p, { keyFile, region: ctx.region }),
    storeCopy: (p, i, content) => new gcp.storage.BucketObject(ctx.name(`canary-${i}`), { bucket: artifactsBucket.name, name: `${CANARY_PREFIX}${p}`, content }, ctx.opts()),
  });
  if (!ctx.spec.canaries.enabled) return planted;
  new gcp.projects.IAMAuditConfig(ctx.name("storage-data-access"), { project: ctx.project, service: "storage.googleapis.com", auditLogConfigs: [{ logType: "DATA_READ" }] }, ctx.opts());
  return { ...planted, account };
}
