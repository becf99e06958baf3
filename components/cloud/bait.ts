// Contents of the canary files. Deterministic per sandbox and path (so user data does not change
// between deploys) and plausible enough that reading or using them is a deliberate act. Nothing in
// them says "canary": the workload can read its own user data.
import * as crypto from "crypto";

/** Key prefix of the canary objects (placed by canaries.ts, read by facts.ts): pure, so facts stay SDK-free. */
export const CANARY_PREFIX = "canaries/";

export interface CanaryCredential {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The profile the canary key is filed under. Not `default`: the SDK's normal credential chain
 *  (the instance role) must keep working, so only deliberate use of this profile trips the alarm. */
export const CANARY_PROFILE = "ops-admin";

function pseudoRandom(seed: string, bytes: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; out.length * 32 < bytes; i++) out.push(crypto.createHash("sha256").update(`${seed}#${i}`).digest());
  return Buffer.concat(out).subarray(0, bytes);
}

function wrap(text: string, width: number): string {
  return text.match(new RegExp(`.{1,${width}}`, "g"))!.join("\n");
}

export function awsCredentialsFile(key: CanaryCredential, region: string): string {
  return [`[${CANARY_PROFILE}]`, `aws_access_key_id = ${key.accessKeyId}`, `aws_secret_access_key = ${key.secretAccessKey}`, `region = ${region}`, ""].join("\n");
}

/** Bait for one path. `.aws/credentials` carries the canary key when there is one. */
export function baitContent(seed: string, path: string, opts: { credential?: CanaryCredential; region: string }): string {
  const base = path.split("/").pop()!;
  if (path === ".aws/credentials" && opts.credential) return awsCredentialsFile(opts.credential, opts.region);
  const noise = pseudoRandom(`${seed}:${path}`, 400);
  if (/^id_(rsa|ed25519|ecdsa)$/.test(base))
    return ["-----BEGIN OPENSSH PRIVATE KEY-----", wrap(noise.toString("base64"), 70), "-----END OPENSSH PRIVATE KEY-----", ""].join("\n");
  if (base.endsWith(".json"))
    return JSON.stringify({ type: "authorized_user", client_id: `${noise.subarray(0, 6).readUIntBE(0, 6)}-${noise.subarray(6, 22).toString("hex")}.apps.googleusercontent.com`, client_secret: noise.subarray(22, 40).toString("base64url"), refresh_token: `1//${noise.subarray(40, 140).toString("base64url")}` }, null, 2) + "\n";
  return `token=${noise.subarray(0, 32).toString("hex")}\n`;
}
