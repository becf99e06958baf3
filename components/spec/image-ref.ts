// Container image references pinned by content. A tag (`repo:1.4`) names whatever was pushed under it
// last, so a deploy, a replaced pod or a node pulling again can run other code than was reviewed; a
// digest (`repo@sha256:<64 hex>`) names one manifest and the runtime verifies the bytes it pulls
// against it (OCI distribution spec: content addressable). One rule, used by every place an image is
// named: the Kubernetes cluster profile's own images (cluster.ts) and the spec's workload and target
// images on Kubernetes (kubernetes/rules.ts).
import type { SpecIssue } from "./issues";

/** `<repository>@sha256:<64 hex>`; a tag may stand before the digest (`repo:1.4@sha256:…`: the digest decides). */
export const PINNED_IMAGE = /^[a-z0-9][a-z0-9._\/:-]*@sha256:[0-9a-f]{64}$/;

export function isPinnedImage(ref: string): boolean {
  return PINNED_IMAGE.test(ref);
}

/** The fix every refusal names: how to turn a tag into its digest without pulling the image. */
export const PIN_FIX = "write <repository>@sha256:<64 hex> (the digest: `crane digest <repository>:<tag>`, `skopeo inspect --format '{{.Digest}}' docker://<repository>:<tag>` or `docker buildx imagetools inspect`); a tag may stay before the @";

/** An issue for `ref` at `path` unless it is pinned by digest (`what`: whose image, for the message). */
export function unpinnedImageIssue(path: string, ref: string | undefined, what: string, fix = PIN_FIX): SpecIssue | undefined {
  if (ref === undefined) return { path, value: undefined, message: `${what} needs an image, pinned by digest (there is no default: a default tag would move under every sandbox)`, fix };
  if (isPinnedImage(ref)) return undefined;
  const why = ref.includes("@") ? "is not a sha256 digest of 64 lowercase hex digits" : "is a tag, which can be re-pushed with other code";
  return { path, value: ref, message: `${what} is not pinned by digest: '${ref}' ${why}`, fix };
}
