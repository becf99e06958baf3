// Turns a raw document into a SandboxSpec or a complete list of issues. Three layers, all run every
// time so the researcher sees every problem in one go:
//   1. shape (zod schema: types, enums, unknown keys, ranges),
//   2. cross-field rules that hold for every backend (unsafe opt-outs, references between fields),
//   3. the chosen backend's own rules (sizes, TEE combinations, regions): its descriptor's `rules`
//      (components/<backend>/rules.ts), with the shared TEE-kind refusal of `backend-rules.ts`.
import type { z } from "zod";
import { formatPath, SpecIssue, valueAt } from "./issues";
import { knownKeysIn, zodIssues } from "./zod-issues";
import { CLOUD_BACKENDS, normalize, sandboxSpecSchema, SandboxSpec, SandboxSpecParsed, TTL_MAX_MS, TTL_MAX_UNSAFE_MS, TTL_MIN_MS } from "./schema";
import { formatDurationMs, parseDurationMs, parseSizeBytes, MiB } from "./units";
import { alertIssues, sizingIssues, sizingViewOf } from "./backend-rules";
import { rulesOf } from "../backend-rules-table";
import { isPrivateIpv4, parseCidr } from "./net";

/** Maps zod's issues to SpecIssues with a concrete fix (shared with chaos experiments). */
function shapeIssues(doc: unknown, error: z.ZodError): SpecIssue[] {
  return zodIssues(doc, error, [], (path) => knownKeysIn(sandboxSpecSchema, path), "see docs/spec.md for this field");
}

/** Rules that hold for every backend. */
function crossFieldIssues(spec: SandboxSpecParsed): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const add = (path: string, value: unknown, message: string, fix: string) => issues.push({ path, value, message, fix });
  const u = spec.unsafe;
  const cloud = CLOUD_BACKENDS.includes(spec.backend);

  if (cloud && !spec.region) add("region", spec.region, `backend '${spec.backend}' needs a region`, "add region: (e.g. us-east-2, europe-west4, westeurope)");

  const ttlMs = parseDurationMs(spec.ttl)!;
  const maxTtl = u.allowLongTtl ? TTL_MAX_UNSAFE_MS : TTL_MAX_MS;
  if (ttlMs < TTL_MIN_MS) add("ttl", spec.ttl, `shorter than ${formatDurationMs(TTL_MIN_MS)}`, `use at least ${formatDurationMs(TTL_MIN_MS)}`);
  if (ttlMs > maxTtl)
    add("ttl", spec.ttl, `longer than the maximum ${formatDurationMs(maxTtl)}`, u.allowLongTtl ? `use at most ${formatDurationMs(maxTtl)}` : `use at most ${formatDurationMs(maxTtl)}, or set unsafe.allowLongTtl: true (max ${formatDurationMs(TTL_MAX_UNSAFE_MS)})`);

  const mem = parseSizeBytes(spec.workload.memory)!;
  if (mem < 64 * MiB) add("workload.memory", spec.workload.memory, "below 64MiB", "use at least 64MiB");
  if (spec.workload.user === "root" && !u.runAsRoot) add("workload.user", "root", "the workload must not run as root", "use a non-root user name (default 'agent'), or set unsafe.runAsRoot: true");

  const cidr = parseCidr(spec.network.cidr);
  if (!cidr) add("network.cidr", spec.network.cidr, "not an IPv4 CIDR", "write it like 10.77.0.0/16");
  else if (!isPrivateIpv4(cidr.address)) add("network.cidr", spec.network.cidr, "not a private (RFC 1918) range", "use a range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16");
  else if (cidr.prefix < 16 || cidr.prefix > 24) add("network.cidr", spec.network.cidr, "prefix must be between /16 and /24", "use e.g. 10.77.0.0/16");

  const targetNames = new Set<string>();
  spec.targets.forEach((t, i) => {
    if (targetNames.has(t.name)) add(`targets[${i}].name`, t.name, "duplicate target name", "give every target a unique name");
    targetNames.add(t.name);
    if (spec.backend === "local" && !t.command) add(`targets[${i}].command`, undefined, "a local target needs the command that serves it", 'add command: ["python3", "-m", "http.server", "8080"]');
    if (spec.backend !== "local" && !t.image) add(`targets[${i}].image`, undefined, `a ${spec.backend} target needs an image`, "add image: (an AMI / image / container image that serves the target)");
  });

  const names = new Set<string>();
  const ports = new Map<number, string>();
  spec.egress.allow.forEach((e, i) => {
    const at = `egress.allow[${i}]`;
    if (names.has(e.name)) add(`${at}.name`, e.name, "duplicate upstream name", "give every allowed upstream a unique name");
    names.add(e.name);
    const listen = e.listenPort ?? e.port;
    const clash = ports.get(listen);
    if (clash) add(`${at}.listenPort`, listen, `gate port already used by '${clash}'`, "set a distinct listenPort for one of them");
    ports.set(listen, e.name);
    const extra = (field: "service" | "target" | "host") => {
      if (e[field] !== undefined) add(`${at}.${field}`, e[field], `not used with via: ${e.via}`, `remove ${field}`);
    };
    if (e.via === "endpoint") {
      if (!e.service) add(`${at}.service`, undefined, "via: endpoint needs the private service name", "add service: (e.g. bedrock-runtime)");
      if (spec.backend === "local") add(`${at}.via`, e.via, "the local backend has no private service endpoints", "use via: address with the host and port the host reaches");
      extra("target"), extra("host");
    } else if (e.via === "target") {
      if (!e.target) add(`${at}.target`, undefined, "via: target needs a target name", "add target: (one of the names under targets)");
      else if (!spec.targets.some((t) => t.name === e.target)) add(`${at}.target`, e.target, "no target with this name", spec.targets.length ? `use one of: ${spec.targets.map((t) => t.name).join(" | ")}` : "add the target under targets: first");
      extra("service"), extra("host");
    } else {
      if (!e.host) add(`${at}.host`, undefined, "via: address needs a host", "add host: (an IP address or host name)");
      else if (cloud && !u.allowInternet && !isPrivateHost(e.host))
        add(`${at}.host`, e.host, "a public address is an internet path", "use a private (RFC 1918) address or a private endpoint (via: endpoint), or set unsafe.allowInternet: true");
      extra("service"), extra("target");
    }
  });

  spec.canaries.files.forEach((f, i) => {
    // Canary files are written (by root, on cloud backends) under the workload user's home.
    if (f.startsWith("/") || f.split("/").some((part) => part === ".." || part === "." || part === ""))
      add(`canaries.files[${i}]`, f, "must be a path inside the workload user's home", "write it relative to the home directory, e.g. .aws/credentials (no leading '/', no '..')");
  });
  if (!spec.canaries.enabled && !u.noCanaries) add("canaries.enabled", false, "canaries are on by default and turning them off lowers safety", "remove the field, or set unsafe.noCanaries: true");
  const seen = new Set<string>();
  spec.killSwitch.rules.forEach((r, i) => {
    if (seen.has(r.on)) add(`killSwitch.rules[${i}].on`, r.on, "rule listed twice", "keep one rule per trigger");
    seen.add(r.on);
  });
  if (spec.canaries.enabled && !seen.has("canary") && !u.canaryAlertOnly)
    add("killSwitch.rules", spec.killSwitch.rules.map((r) => r.on), "canaries are placed but no rule kills the workload when one is touched", "add { on: canary }, or set unsafe.canaryAlertOnly: true");
  if (spec.logging.lockMode === "none" && !u.unlockedLogs) add("logging.lockMode", "none", "logs must be retention-locked", "use compliance (default) or governance, or set unsafe.unlockedLogs: true");

  for (const key of Object.keys(spec.tags)) {
    if (key.toLowerCase().startsWith("airlock")) add(`tags.${key}`, spec.tags[key], "tag keys starting with 'airlock' are reserved", "rename the tag");
  }
  const rules = rulesOf(spec.backend);
  if (rules) issues.push(...alertIssues(rules, spec));
  issues.push(...(rules?.validateSpec?.(spec) ?? []));
  return issues;
}

function isPrivateHost(host: string): boolean {
  // Host names cannot be judged offline; on clouds only literal private IPs count as private.
  return /^\d+\.\d+\.\d+\.\d+$/.test(host) && isPrivateIpv4(host);
}

/**
 * Cross-field rules still run when the shape is broken: the broken fields are removed (so that their
 * defaults apply), required ones get placeholders, and the repaired document is checked. Issues on
 * the removed paths are not repeated.
 */
function crossFieldIssuesOfBroken(doc: unknown, error: z.ZodError): SpecIssue[] {
  if (!doc || typeof doc !== "object") return [];
  const repaired = structuredClone(doc) as any;
  const removed: string[] = [];
  const placeholderFor = (expected: string): unknown =>
    ({ string: "placeholder", number: 1, boolean: false, array: ["true"], object: {} })[expected];
  let issues = error.issues as any[];
  // A few rounds: removing a bad required field makes it "missing", which the next round fills in.
  for (let round = 0; round < 5; round++) {
    for (const issue of issues) {
      const paths: PropertyKey[][] = issue.code === "unrecognized_keys" ? issue.keys.map((k: string) => [...issue.path, k]) : [issue.path];
      for (const p of paths) {
        if (p.length === 0) continue;
        const parent = valueAt(repaired, p.slice(0, -1)) as any;
        if (!parent || typeof parent !== "object") continue;
        const key = p[p.length - 1] as any;
        const missing = issue.code === "invalid_type" && parent[key] === undefined;
        if (missing && placeholderFor(issue.expected) !== undefined) parent[key] = placeholderFor(issue.expected);
        else delete parent[key];
        removed.push(formatPath(p));
      }
    }
    const again = sandboxSpecSchema.safeParse(repaired);
    if (again.success) {
      // A path is covered when it or one of its prefixes (cut before each '.' or '[') was removed:
      // a lookup per prefix, not a scan of every removed path (thousands on a big broken document).
      const removedSet = new Set(removed);
      const covered = (path: string) => removedSet.has(path) || [...path].some((c, i) => (c === "." || c === "[") && removedSet.has(path.slice(0, i)));
      return crossFieldIssues(again.data).filter((i) => !covered(i.path));
    }
    issues = again.error.issues as any[];
  }
  return [];
}

function dedupe(issues: SpecIssue[]): SpecIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}|${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export type ValidationResult = { ok: true; spec: SandboxSpec } | { ok: false; issues: SpecIssue[] };

/** Validates a raw document (from YAML or stack config). Never throws for bad input. */
export function validateSpec(doc: unknown): ValidationResult {
  const parsed = sandboxSpecSchema.safeParse(doc);
  if (!parsed.success) {
    // Shape errors first; the backend rules still run on what could be read, so that e.g. a bad
    // TEE/size combination is reported together with a typo elsewhere.
    const issues = shapeIssues(doc, parsed.error);
    const view = sizingViewOf(doc);
    if (view) issues.push(...sizingIssues(rulesOf(view.backend)!, view));
    issues.push(...crossFieldIssuesOfBroken(doc, parsed.error));
    return { ok: false, issues: dedupe(issues) };
  }
  const issues = crossFieldIssues(parsed.data);
  const spec = normalize(parsed.data);
  issues.push(...sizingIssues(rulesOf(spec.backend)!, sizingViewOf(parsed.data)!));
  return issues.length ? { ok: false, issues } : { ok: true, spec };
}
