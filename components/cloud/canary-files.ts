// Which bait files the workload finds in its home, and what is in each: the same for every VM backend.
// The listed `canaries.files`, plus the planted credential's own path (even when the list omits it, so
// the credential is always where a tool would look for it); one content per path, computed once from
// the credential so that the home file and its canary object in the artifacts store are identical.
// Only the credential (an IAM access key, a service-account key file, ...) and its path are per cloud.
import * as pulumi from "@pulumi/pulumi";

/** The home-relative paths to plant: the listed files and, with a credential, its path (once). */
export function canaryPaths(canaries: { files: readonly string[]; credential: boolean }, credentialPath: string): string[] {
  return [...new Set([...canaries.files, ...(canaries.credential ? [credentialPath] : [])])];
}

/** path -> content for every canary path, secret because the credential is in it. */
export function canaryHomeFiles<C>(paths: readonly string[], credential: pulumi.Output<C>, content: (path: string, credential: pulumi.Unwrap<C>) => string): pulumi.Output<Record<string, string>> {
  return pulumi.secret(credential).apply((c) => Object.fromEntries(paths.map((p) => [p, content(p, c)])));
}
