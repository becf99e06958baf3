// The in-namespace guard's program (the image bin/build-guard-image.sh builds; the pod killswitch.ts
// renders runs `guard --kubernetes --rules /etc/airlock/rules.json`). It judges the spec's kill rules
// through the one cloud-neutral judge (components/guard/judge.ts) from what the API server says of
// the workload pod, and kills by deleting that pod with the pod's own token — the Role allows that
// one pod and nothing else (identity.ts).
//
// What it can see from the API, and so which rules it enforces here:
//   oom          a workload container terminated with reason OOMKilled (the kubelet's report);
//   ttl          the sandbox's expiry passed (activeDeadlineSeconds ends the pod anyway; this is
//                the second, independent clock);
// and it sets the kubelet's clock to the absolute expiry: each workload pod's activeDeadlineSeconds is
// lowered to the time left from that pod's start (deadlineAtExpiry);
// and what it cannot (said in docs/kubernetes.md): `pids-limit` (the API reports no pids.max
// events), `denied-egress` (no CNI exposes denials through the API), `canary` file reads (inside a
// gVisor/Kata sandbox no other pod sees them). Those rules are recorded as unenforced at start, not
// silently dropped. Events go to stdout as JSON lines (the pod's log); shipping them to the record
// bucket is not wired in this program yet.
import * as fs from "fs";
import { KubeApiError, KubeClient } from "./api";
import { KillRuleJudge, type Trip } from "../guard/judge";
import type { KillRule } from "../spec/schema";

/** rules.json as killswitch.ts writes it. */
export interface GuardConfig {
  sandbox: string;
  namespace: string;
  workloadPod: string;
  rules: KillRule[];
  canaryAlertOnly?: boolean;
  record?: string;
  recordEndpoint?: string;
  gateLogPod?: string;
  /** ISO time the sandbox expires (the namespace's expiry). */
  expiresAt?: string;
  ttl?: string;
}

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The pod's own credentials: the API server from the Service env, the CA and token the kubelet mounts. */
export function inClusterClient(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): KubeClient {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  if (!host) throw new Error("guard: KUBERNETES_SERVICE_HOST is not set; the guard runs inside a pod (or pass --kubeconfig)");
  return new KubeClient({ server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`, ca: fs.readFileSync(`${dir}/ca.crt`), token: fs.readFileSync(`${dir}/token`, "utf8").trim() });
}

/** Rules this program can judge from the API server (the others are recorded as not enforced). */
export const API_JUDGED_RULES: ReadonlySet<KillRule["on"]> = new Set<KillRule["on"]>(["oom"]);

export type GuardEvent = { type: string; at: string } & Record<string, unknown>;

/**
 * The workload pod's deadline at the sandbox's absolute expiry: `activeDeadlineSeconds` counts from
 * the pod's `status.startTime`, so the seconds from that start to the expiry (at least 1, the API's
 * minimum: a pod started after the expiry ends at once). The rendered pod carries the TTL, a constant
 * of the spec, so an `up` with the same spec changes no input (test/expiry-redeploy.test.ts); the
 * guard lowers it on each pod it sees start — a pod replaced hours later gets what is left, not a
 * fresh TTL. Undefined while the pod has not started, or when its deadline is already that low (the
 * API server accepts only a decrease: validation of pod updates).
 */
export function deadlineAtExpiry(pod: any, expiresAt: number): number | undefined {
  const started = Date.parse(pod?.status?.startTime ?? "");
  if (!Number.isFinite(started)) return undefined;
  const want = Math.max(1, Math.ceil((expiresAt - started) / 1000));
  const now = Number(pod?.spec?.activeDeadlineSeconds);
  return Number.isFinite(now) && now > 0 && now <= want ? undefined : want;
}

/** Containers of a pod status the kubelet reports OOM-killed (now or in their last run). */
export function oomKills(pod: any): number {
  const statuses = [...(pod?.status?.initContainerStatuses ?? []), ...(pod?.status?.containerStatuses ?? [])];
  return statuses.filter((s: any) => s?.state?.terminated?.reason === "OOMKilled" || s?.lastState?.terminated?.reason === "OOMKilled").length;
}

export interface GuardRun {
  client: KubeClient;
  config: GuardConfig;
  /** Between two reads of the workload pod. */
  pollMs?: number;
  emit?: (e: GuardEvent) => void;
  signal?: AbortSignal;
  now?: () => Date;
}

/**
 * Watches the workload pod until a rule trips (then deletes the pod) or `signal` aborts; a pod that
 * is gone may come back (a replacing `up`) and is watched again. Each workload pod that starts gets
 * its deadline lowered to the sandbox's expiry (deadlineAtExpiry). Returns the trip, if any. API errors other than "gone" are recorded and retried: a guard that
 * exits on a transient error would leave the workload unwatched.
 */
export async function runGuard(run: GuardRun): Promise<Trip | undefined> {
  const { client, config } = run;
  const pollMs = run.pollMs ?? 2000;
  const now = run.now ?? (() => new Date());
  const emit = run.emit ?? ((e) => process.stdout.write(JSON.stringify(e) + "\n"));
  const event = (type: string, data: Record<string, unknown> = {}) => emit({ type, at: now().toISOString(), sandbox: config.sandbox, ...data });
  const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: config.workloadPod, namespace: config.namespace } };
  let trip: Trip | undefined;
  const judge = new KillRuleJudge(config.rules, { pids: 0, memory: "(the pod's limit)" }, (type, data) => event(type, data), (t) => (trip = t));
  const unenforced = config.rules.filter((r) => !API_JUDGED_RULES.has(r.on)).map((r) => r.on);
  event("guard-armed", { rules: config.rules.map((r) => r.on), notEnforcedHere: unenforced, why: unenforced.length ? "the API server reports no such events for a pod (docs/kubernetes.md)" : undefined });
  const expiresAt = config.expiresAt ? Date.parse(config.expiresAt) : undefined;
  // The pod (by uid) last seen gone or given its deadline: a replaced workload pod is a new uid.
  let gone: string | undefined;
  const deadlined = new Set<string>();
  while (!run.signal?.aborted) {
    let current: any;
    try {
      current = await client.get(pod);
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) {
        // Not the end: an `up` that replaces the workload deletes it before it creates the new one,
        // which this guard watches (and gives its deadline) as well.
        if (gone !== "none") event("workload-gone", {});
        gone = "none";
      } else event("guard-error", { message: (e as Error).message });
    }
    if (current) {
      gone = undefined;
      // No baseline: an OOM kill already reported when the guard arms is the workload's doing too.
      judge.limitEvents({ pidsMaxEvents: 0, oomKill: oomKills(current) });
      const uid = current.metadata?.uid as string;
      const seconds = expiresAt === undefined || deadlined.has(uid) ? undefined : deadlineAtExpiry(current, expiresAt);
      if (seconds !== undefined) {
        try {
          // The uid in the patch is a precondition: a pod replaced since the read is refused (409), not lowered by the old one's start.
          await client.request("PATCH", `/api/v1/namespaces/${encodeURIComponent(config.namespace)}/pods/${encodeURIComponent(config.workloadPod)}`, { metadata: { uid }, spec: { activeDeadlineSeconds: seconds } }, "application/merge-patch+json");
          deadlined.add(uid);
          event("deadline-set", { pod: config.workloadPod, uid, startTime: current.status.startTime, activeDeadlineSeconds: seconds, expiresAt: config.expiresAt, was: current.spec?.activeDeadlineSeconds });
        } catch (e) {
          // The TTL clock below still deletes the pod at the expiry; the kubelet's deadline is the TTL from its start.
          event("deadline-failed", { pod: config.workloadPod, uid, message: (e as Error).message });
        }
      } else if (uid && expiresAt !== undefined && current.status?.startTime) deadlined.add(uid);
    }
    if (!trip && expiresAt !== undefined && now().getTime() >= expiresAt) judge.ttlExpired(config.ttl ?? "?", config.expiresAt!);
    if (trip) {
      event("kill", { rule: trip.rule, detail: trip.detail, pod: config.workloadPod });
      try {
        await client.delete(pod, { ignoreMissing: true });
        event("workload-deleted", { pod: config.workloadPod });
      } catch (e) {
        // Refused or unreachable: say so loudly and keep trying; the deadline still ends the pod.
        event("kill-failed", { message: (e as Error).message });
        await sleep(pollMs, run.signal);
        continue;
      }
      return trip;
    }
    await sleep(pollMs, run.signal);
  }
  return trip;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    // The listener goes when the timer fires: a guard polls for the sandbox's whole life, and one
    // listener left per poll would pile up on the signal.
    const onAbort = () => (clearTimeout(t), resolve());
    const t = setTimeout(() => (signal?.removeEventListener("abort", onAbort), resolve()), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** `guard --kubernetes --rules <file> [--kubeconfig <file>]`: the image's entry point. */
export async function guardMain(argv: string[]): Promise<number> {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (!argv.includes("--kubernetes")) {
    process.stderr.write("guard: this image runs the Kubernetes guard: guard --kubernetes --rules <rules.json>\n");
    return 2;
  }
  const rulesFile = arg("--rules");
  if (!rulesFile) {
    process.stderr.write("guard: --rules <rules.json> is required (the ConfigMap killswitch.ts renders)\n");
    return 2;
  }
  const config = JSON.parse(fs.readFileSync(rulesFile, "utf8")) as GuardConfig;
  const kubeconfig = arg("--kubeconfig");
  const client = kubeconfig ? KubeClient.fromKubeconfig(kubeconfig) : inClusterClient();
  const stop = new AbortController();
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => stop.abort());
  try {
    await runGuard({ client, config, signal: stop.signal });
    return 0;
  } finally {
    client.close();
  }
}

// The image runs this file with node; bin/run-ts.js (tests, a host run) makes itself the main module.
if (require.main === module || process.argv[1] === __filename) guardMain(process.argv.slice(2)).then((code) => process.exit(code), (e) => (process.stderr.write(`guard: ${e?.stack ?? e}\n`), process.exit(1)));
