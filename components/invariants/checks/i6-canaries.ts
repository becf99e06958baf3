// I6 — canaries are placed (every listed file in the workload's home and as a watched object; the
// canary credential, with no permissions at all) and every canary is watched by an alarm that alerts
// and — unless unsafe.canaryAlertOnly — kills the workload.
import type { Finding, Invariant } from "../types";
import { finding } from "./util";

export const i6: Invariant = {
  id: "I6",
  title: "canaries placed, alerts wired to the kill switch",
  waiverFlags: ["noCanaries", "canaryAlertOnly"],
  check({ graph, spec, rules }) {
    if (!spec.canaries.enabled) return [finding("(spec)", "canaries are off", "noCanaries")];
    const out: Finding[] = [];
    const canaries = rules.canaries(graph);
    const has = (kind: "file" | "object", path: string) => canaries.some((c) => c.kind === kind && c.path === path);
    for (const path of spec.canaries.files) {
      if (!has("file", path)) out.push(finding("(graph)", `canary file ~/${path} is not planted in the workload`));
      if (!has("object", path)) out.push(finding("(graph)", `no watched canary object for ${path}`));
    }
    const credentials = canaries.filter((c) => c.kind === "credential");
    if (spec.canaries.credential && credentials.length === 0) out.push(finding("(graph)", "no canary credential"));
    for (const c of credentials) if (c.grants?.length) out.push(finding(c.node, `canary credential has permissions (${c.grants.map((g) => g.name).join(", ")})`));

    const alarms = rules.alarms(graph);
    const killByRule = spec.killSwitch.rules.some((r) => r.on === "canary");
    for (const kind of ["object", "credential"] as const) {
      if (!canaries.some((c) => c.kind === kind)) continue;
      const watching = alarms.filter((a) => a.watches.includes(kind));
      if (!watching.some((a) => a.notifies)) out.push(finding("(graph)", `no alarm alerts when a canary ${kind} is used`));
      if (!watching.some((a) => a.kills)) out.push(finding("(graph)", `no alarm kills the workload when a canary ${kind} is used${killByRule ? "" : " (the kill switch has no canary rule)"}`, "canaryAlertOnly"));
    }
    return out;
  },
};
