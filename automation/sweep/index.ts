// `airlock sweep --backend <cloud>`: one inventory per cloud, one planner and one runner for all.
import type { CloudBackend, CloudInventory, Http } from "./types";
import { awsFromEnvironment } from "./aws";
import { gcpFromEnvironment } from "./gcp";
import { azureFromEnvironment } from "./azure";
import { kubectlHttp, kubernetesInventory } from "./kubernetes";
import { fetchHttp } from "./http";

export * from "./types";
export { planSweep, SweepPlan, SandboxFinding, StackFinding } from "./plan";
export { sweepCloud, CloudSweepReport, CloudSweepOptions } from "./run";
export { pulumiCliEngine } from "./cli-engine";

export interface InventoryOptions {
  env?: NodeJS.ProcessEnv;
  http?: Http;
  /** AWS region, GCP project/scope, Azure subscription(s), Kubernetes context. */
  scope?: string;
}

/** The inventory for `backend` from the user's environment; throws naming what is missing and how to set it. */
export function inventoryFor(backend: CloudBackend, o: InventoryOptions = {}): CloudInventory {
  const env = o.env ?? process.env;
  switch (backend) {
    case "aws":
      return awsFromEnvironment(env, o.http ?? fetchHttp(), o.scope);
    case "gcp":
      return gcpFromEnvironment(env, o.http ?? fetchHttp(), o.scope);
    case "azure":
      return azureFromEnvironment(env, o.http ?? fetchHttp(), o.scope);
    case "kubernetes":
      return kubernetesInventory({ http: o.http ?? kubectlHttp({ context: o.scope }), context: o.scope });
  }
}
