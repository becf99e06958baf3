// Canaries on Kubernetes: the spec's canary files (a fake cloud credential in them) as one Secret in
// the sandbox's namespace, mounted read-only into the workload's home at the spec's paths. Only the
// workload mounts it; the Secret holds nothing real. Read detection: see killswitch.ts and
// docs/kubernetes.md (what a Kubernetes guard can and cannot see).
import { shortHash } from "../naming";
import { meta, type RenderContext } from "./context";
import type { Manifest } from "./manifest";

export const CANARY_SECRET = "canaries";

/** A fake, never-granted AWS-style key pair, unique per sandbox (recognisable when it is used). */
export function canaryCredential(ctx: RenderContext): { accessKeyId: string; secretAccessKey: string } {
  const h = shortHash(`canary/${ctx.identity.id}`, 40).toUpperCase();
  return { accessKeyId: `AKIA${h.slice(0, 16)}`, secretAccessKey: shortHash(`canary-secret/${ctx.identity.id}`, 40) };
}

function fileKey(i: number) {
  return `canary-${i}`;
}

function fileContent(ctx: RenderContext, path: string): string {
  const c = canaryCredential(ctx);
  if (!ctx.spec.canaries.credential) return `# ${path}\n`;
  return `[default]\naws_access_key_id = ${c.accessKeyId}\naws_secret_access_key = ${c.secretAccessKey}\n`;
}

export function canaries(ctx: RenderContext): Manifest[] {
  if (!ctx.spec.canaries.enabled) return [];
  return [
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: meta(ctx, CANARY_SECRET, { "airlock.dev/canary": "true" }),
      type: "Opaque",
      immutable: true,
      stringData: Object.fromEntries(ctx.spec.canaries.files.map((f, i) => [fileKey(i), fileContent(ctx, f)])),
    },
  ];
}

export function canaryVolumes(ctx: RenderContext): object[] {
  if (!ctx.spec.canaries.enabled) return [];
  return [{ name: "canaries", secret: { secretName: CANARY_SECRET, defaultMode: 0o440 } }];
}

export function canaryMounts(ctx: RenderContext): object[] {
  if (!ctx.spec.canaries.enabled) return [];
  return ctx.spec.canaries.files.map((f, i) => ({ name: "canaries", mountPath: `/home/${ctx.spec.workload.user}/${f}`, subPath: fileKey(i), readOnly: true }));
}

/** The paths (relative to home) the canaries are placed at. */
export function canaryPaths(ctx: RenderContext): string[] {
  return ctx.spec.canaries.enabled ? [...ctx.spec.canaries.files] : [];
}
