// How the GCP sandbox's first-boot scripts (startup scripts: the shared scripts of ../cloud/boot.ts)
// reach their stores — Cloud Storage's JSON API with the instance's own
// service-account token from the metadata server; the gate straight through Private Google Access,
// the workload through the gate's record listener (the workload has no route to Google APIs). GCE runs
// startup scripts on every boot, so every step is idempotent.
import { sq, StoreAccess } from "../cloud/boot";
import { STORAGE_HOST } from "./services";

const TOKEN_URL = "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token";

export interface CommonBoot {
  logBucket: string;
  logPrefix: string;
  /** `host:port` of the gate's record listener, when this instance reaches Cloud Storage through it. */
  storageVia?: string;
  /** The artifacts bucket, for instances that fetch artifacts. */
  artifactsBucket?: string;
}

/** curl to Cloud Storage with this instance's token (through the gate when `via` is set). */
function storageCurl(via: string | undefined): string {
  const connect = via ? ` --connect-to ${sq(`${STORAGE_HOST}:443:${via}`)}` : "";
  return `curl -fsS --retry 3${connect} -H "Authorization: Bearer $(curl -fsS -H 'Metadata-Flavor: Google' ${TOKEN_URL} | sed -n 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/p')"`;
}

export function gcpStoreAccess(b: CommonBoot): StoreAccess {
  const curl = storageCurl(b.storageVia);
  return {
    putRecord: `${curl} -X POST --data-binary @"$src" -H 'Content-Type: application/octet-stream' "https://${STORAGE_HOST}/upload/storage/v1/b/${b.logBucket}/o?uploadType=media&name=${b.logPrefix}$name" >/dev/null`,
    getArtifact: (key, dest) => {
      if (!b.artifactsBucket) throw new Error("this instance reads no artifacts (no artifactsBucket)");
      return `${curl} -o ${sq(dest)} "https://${STORAGE_HOST}/storage/v1/b/${b.artifactsBucket}/o/${encodeURIComponent(key)}?alt=media"`;
    },
  };
}
