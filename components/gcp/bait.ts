// What the GCP canaries contain. Pure. Every file but the key comes from the shared bait generator
// (components/cloud/bait.ts: deterministic per sandbox and path, plausible, never saying "canary"); the
// canary service account's real key file (with no role anywhere) goes at CANARY_KEY_PATH — not at the
// ADC path, so the SDKs' default credential chain keeps using the instance's own service account and
// only deliberate use of the key is seen.
import { baitContent } from "../cloud/bait";

export const CANARY_PREFIX = "canaries/";
/** Where the canary service-account key is filed (relative to the workload user's home). */
export const CANARY_KEY_PATH = ".config/gcloud/ops-admin-service-account.json";

export function canaryFileContent(seed: string, path: string, opts: { keyFile?: string; region: string }): string {
  if (path === CANARY_KEY_PATH && opts.keyFile) return opts.keyFile;
  return baitContent(seed, path, { region: opts.region });
}
