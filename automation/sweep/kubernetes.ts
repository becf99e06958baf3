// Kubernetes: a sandbox is a namespace carrying the sandbox label (everything namespaced goes with
// it). Found with a label-selector list (`labelSelector=<key>` = "has the label"), paged with
// `continue`; deleted with a DELETE of the namespace.
//   https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/namespace-v1/
//   https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors
// The transport is the user's kubectl (`kubectl get|delete --raw <path>`), so every kubeconfig
// authentication method works and Airlock reads no credentials itself.
import { execFile } from "child_process";
import { LABEL_KEYS } from "../../components/naming";
import { CloudInventory, Http, jsonCall, TaggedResource } from "./types";

export function kubernetesInventory(o: { http: Http; context?: string }): CloudInventory {
  const key = LABEL_KEYS.kubernetes.sandbox;
  return {
    backend: "kubernetes",
    labelStyle: "kubernetes",
    scope: `Kubernetes cluster${o.context ? ` (context ${o.context})` : " (current context)"}`,
    async list() {
      const out: TaggedResource[] = [];
      let cont: string | undefined;
      do {
        const q = new URLSearchParams({ labelSelector: key, limit: "500", ...(cont ? { continue: cont } : {}) });
        const page = await jsonCall(o.http, { method: "GET", url: `/api/v1/namespaces?${q}` });
        for (const ns of page.items ?? []) out.push({ id: ns.metadata.name, type: "v1/Namespace", labels: ns.metadata.labels ?? {} });
        cont = page.metadata?.continue || undefined;
      } while (cont);
      return out;
    },
    async remove(r) {
      await jsonCall(o.http, { method: "DELETE", url: `/api/v1/namespaces/${encodeURIComponent(r.id)}` });
    },
    removalRank() {
      return 0;
    },
  };
}

/** Http over `kubectl get|delete --raw` (paths relative to the API server). */
export function kubectlHttp(opts: { kubectl?: string; context?: string } = {}): Http {
  return (req) =>
    new Promise((resolve) => {
      const verb = req.method === "DELETE" ? "delete" : "get";
      const args = [...(opts.context ? ["--context", opts.context] : []), verb, "--raw", req.url];
      execFile(opts.kubectl ?? "kubectl", args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (!err) return resolve({ status: 200, body: stdout });
        const code = /\b(40[0-9]|5\d\d)\b/.exec(stderr)?.[1];
        resolve({ status: code ? Number(code) : 599, body: (stderr || String(err.message)).trim() });
      });
    });
}
