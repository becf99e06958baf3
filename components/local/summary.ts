// The end-of-run summary of `airlock run`: what the boundary allowed, what it blocked (from the
// kernel's counters, not from what the workload says about itself), what the guard did, and where the
// record is.
import type { LocalSandboxHandle } from "./handle";
import type { EgressCounts, Trip } from "./guard";

export interface RunSummary {
  id: string;
  exitStatus: number;
  allowed: { upstream: string; listen: string; upstream_address: string; connections: number }[];
  blocked: { what: string; count: number; how: string }[];
  canaries: { files: string[]; credentialEndpoint?: string; touched: boolean };
  killedBy: Trip | null;
  record: string;
  head?: string;
  chaos?: { reportPath?: string; aborted?: boolean; summary?: string; skipped?: string; error?: string };
  waived: string[];
}

export function runSummary(o: {
  handle: LocalSandboxHandle;
  egress: EgressCounts;
  exitStatus: number;
  killedBy?: Trip;
  canaryTouched: boolean;
  head?: string;
  chaos?: RunSummary["chaos"];
}): RunSummary {
  const h = o.handle;
  return {
    id: h.id,
    exitStatus: o.exitStatus,
    allowed: Object.entries(h.gate.proxies).map(([name, p]) => ({ upstream: name, listen: p.listen, upstream_address: p.upstream, connections: o.egress.gate[name] ?? 0 })),
    blocked: [
      { what: "no route", count: o.egress.noRoute, how: "internet, metadata, other sandboxes, the host's networks: no route exists, connect() fails at once with 'network unreachable'" },
      { what: "rejected tcp", count: o.egress.rejected.tcp ?? 0, how: "the gate address's other ports (the host's services, the gate admin API): TCP reset" },
      { what: "rejected udp", count: o.egress.rejected.udp ?? 0, how: "UDP to the gate address (e.g. DNS): refused at send() ('operation not permitted')" },
      { what: "rejected icmp/other", count: (o.egress.rejected.icmp ?? 0) + (o.egress.rejected.other ?? 0), how: "ICMP and other protocols: ICMP admin prohibited" },
      { what: "refused socket families", count: o.egress.rejected.socketFamily ?? 0, how: "socket() of vsock, packet, CAN, Bluetooth, ...: EAFNOSUPPORT (each attempt is a `socket-refused` record entry)" },
    ],
    canaries: { files: h.canaries?.files ?? [], credentialEndpoint: h.canaries?.endpoint, touched: o.canaryTouched },
    killedBy: o.killedBy ?? null,
    record: h.record,
    head: o.head,
    chaos: o.chaos,
    waived: h.spec.waived.map((f) => `unsafe.${f}`),
  };
}

export function formatRunSummary(s: RunSummary): string {
  const lines = [`airlock run: sandbox ${s.id} finished; workload exit status ${s.exitStatus}`];
  if (s.waived.length) lines.push(`  UNSAFE     waived safety defaults: ${s.waived.join(", ")}`);
  if (s.allowed.length === 0) lines.push("  allowed    nothing (no egress.allow entries)");
  for (const a of s.allowed) lines.push(`  allowed    ${a.upstream.padEnd(20)} ${String(a.connections).padStart(4)} connection(s) via the gate ${a.listen} -> ${a.upstream_address}`);
  for (const b of s.blocked) lines.push(`  blocked    ${b.what.padEnd(20)} ${String(b.count).padStart(4)}  (${b.how})`);
  lines.push(`  canaries   ${s.canaries.files.length ? `${s.canaries.touched ? "TOUCHED" : "untouched"} (${s.canaries.files.join(", ")})` : "none (unsafe.noCanaries)"}`);
  lines.push(`  kill       ${s.killedBy ? `${s.killedBy.rule}: ${s.killedBy.detail}` : "none fired"}`);
  if (s.chaos) lines.push(`  chaos      ${s.chaos.skipped ?? s.chaos.error ?? `${s.chaos.aborted ? "(aborted) " : ""}${s.chaos.summary ?? ""}`}`);
  lines.push(`  record     ${s.record}`);
  if (s.head) lines.push(`             head ${s.head}`);
  lines.push(`             check it: airlock log verify ${s.record}`);
  return lines.join("\n");
}
