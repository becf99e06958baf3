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

/** What a cloud supplies to plant its canaries: its credential (made only when the spec asks), the content of each file, and where the store keeps a copy. */
export interface CanaryPlanting<C, O> {
  /** Where a tool looks for this cloud's credential (home-relative). */
  credentialPath: string;
  /** Creates the planted credential's resources; called only with `canaries.credential`. */
  mintCredential(): pulumi.Output<C>;
  /** The file at `path`, with the credential when there is one. */
  content(path: string, credential: pulumi.Unwrap<C> | undefined): string;
  /** The store's copy of the file at `path` (the `index`th), whose reads are watched. */
  storeCopy(path: string, index: number, content: pulumi.Output<string>): O;
}

/** The home files and their store copies; nothing at all when canaries are off. */
export function plantCanaries<C, O>(canaries: { enabled: boolean; files: readonly string[]; credential: boolean }, how: CanaryPlanting<C, O>): { homeFiles: pulumi.Output<Record<string, string>>; objects: O[] } {
  if (!canaries.enabled) return { homeFiles: pulumi.output<Record<string, string>>({}), objects: [] };
  const credential: pulumi.Output<C | undefined> = canaries.credential ? how.mintCredential() : pulumi.output(undefined);
  const paths = canaryPaths(canaries, how.credentialPath);
  const homeFiles = canaryHomeFiles(paths, credential, (p, c) => how.content(p, c as pulumi.Unwrap<C> | undefined));
  return { homeFiles, objects: paths.map((p, i) => how.storeCopy(p, i, homeFiles.apply((f) => f[p]))) };
}
