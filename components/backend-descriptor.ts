// What a backend is, in one object. Each backend folder exports one `BackendDescriptor` from
// `components/<backend>/descriptor.ts`; `components/backends.ts` lists them, and every place that
// needs to know about backends (spec validation, the invariant checks, the mock graph, the program)
// asks that list — adding a backend touches its own folder and one line of the list.
//
// A descriptor module must stay light: pure data and functions, no cloud SDK import. The component
// (which loads @pulumi/<cloud>) is reached only through `loadComponent()`, so validating a spec,
// running the local backend or checking invariants never loads a cloud SDK it does not need.
// How to write one: docs/backends.md.
import type { Backend, SandboxSpec } from "./spec/schema";
import type { LabelStyle } from "./naming";
import type { BackendRules } from "./spec/backend-rules";
import type { CloudRuleTable, InvariantId } from "./invariants/types";
import type { ResourceGraph } from "./invariants/graph";
import type { CloudMocks } from "./invariants/mock-types";
import type { SandboxFactory } from "./sandbox-base";

export interface BackendDescriptor {
  /** The `backend:` value of a spec. */
  name: Backend;
  /** Human name for tables and messages, e.g. "AWS". */
  title: string;
  /**
   * How the three labels are spelt on this platform (components/naming.ts): `tags` = AWS-style
   * `airlock:sandbox` keys (AWS, Azure, local), `gcp` = lowercase `airlock-sandbox` labels,
   * `kubernetes` = `airlock.dev/sandbox` label keys.
   */
  labelStyle: LabelStyle;
  /** Spec rules: TEE kinds offered, sizes, regions, whole-spec rules (components/<backend>/rules.ts). */
  rules: BackendRules;
  /**
   * The invariant facts (components/<backend>/facts.ts): how I1–I9 read this platform's resource
   * graph. Absent while the backend has no graph to check (a backend whose component is not built
   * yet, or `local`, whose guarantees are checked against the running host, not a Pulumi graph).
   */
  facts?: CloudRuleTable;
  /** Mock provider answers for this platform's resources, for the invariant mock graph. */
  mocks?: CloudMocks;
  /**
   * Loads the component (and with it the cloud SDK) on first use. Throws a clear error for a
   * backend whose component is not built yet.
   */
  loadComponent(): SandboxFactory;
  /**
   * Breakages the conformance table (test/conformance.test.ts) applies to this backend's graphs;
   * each must fail the invariant it names (components/<backend>/mutations.ts). One per
   * `MUTATION_KINDS` entry is expected of every backend with facts; a missing one is listed.
   */
  mutations?: readonly MutationCase[];
  /**
   * Mutation kinds that have no counterpart on this backend, each with why (there is nothing to
   * break). The conformance table lists them as skips with that reason, apart from kinds merely not
   * written yet.
   */
  mutationsNotApplicable?: Readonly<Partial<Record<MutationKind, string>>>;
  /** This backend's column of docs/equivalence.md (components/<backend>/equivalence.ts). */
  equivalence?: Equivalence;
}

/**
 * What every cloud backend's mutation cases cover: the same breakage, spelt per platform (issue 7
 * §4 and the mis-wirings of §0b).
 */
export const MUTATION_KINDS = {
  "default-route": "a default internet route kept",
  "open-egress": "egress to 0.0.0.0/0 allowed",
  "all-protocols": "an all-protocols allow rule",
  "public-ip": "an external / public IP",
  "unlocked-retention": "record retention not locked",
  "unlocked-artifacts": "the artifacts and canary store's lock removed",
  "ssh-keys": "SSH keys handed to instances (project-wide keys, a key pair)",
  "identity-grant": "a role assignment / project role / managed policy on the workload identity",
  "missing-ttl": "no platform TTL",
  "tee-dropped": "the TEE settings dropped",
  "workload-in-gate-group": "the workload also in the gate's firewall group (security group, service account / network tag, NSG, pod selector)",
  "workload-in-gate-subnet": "the workload placed in the gate's subnet",
  "workload-on-gate-routing": "the workload's subnet on the gate's route table",
  "guard-missing-rule": "the workload's guard missing a kill rule (pids-limit)",
  "guard-not-installed": "the workload's guard not installed",
  "guard-no-metadata-filter": "the workload VM's guard without its metadata filter, the workload's uid given the metadata server directly",
} as const;
export type MutationKind = keyof typeof MUTATION_KINDS;

/**
 * Breakages that exist only on some platforms (containers on a shared node), so they are not
 * expected of every backend: a backend that has the concept supplies them beside MUTATION_KINDS.
 */
export const PLATFORM_MUTATION_KINDS = {
  "missing-default-deny": "the namespace's default-deny policy removed",
  "api-token": "a service-account (API) token mounted into the workload",
  "host-network": "the workload on the node's network (hostNetwork)",
  privileged: "a privileged workload container",
  "shared-kernel": "the workload under runc without unsafe.sharedKernel",
  "cross-namespace-ingress": "the gate reachable from another namespace",
  "deadline-past-ttl": "a pod deadline (activeDeadlineSeconds) longer than the TTL",
  "record-not-shipped": "the in-boundary guard unable to ship the record (no path to the bucket's endpoint, or no read of the gate's log)",
} as const;
export type PlatformMutationKind = keyof typeof PLATFORM_MUTATION_KINDS;

/** Title of any mutation kind, shared or platform-specific. */
export function mutationTitle(kind: MutationKind | PlatformMutationKind): string {
  return (MUTATION_KINDS as Record<string, string>)[kind] ?? (PLATFORM_MUTATION_KINDS as Record<string, string>)[kind];
}

export interface MutationCase {
  kind: MutationKind | PlatformMutationKind;
  /** The stack file it starts from (stacks/Pulumi.<stack>.yaml). */
  stack: string;
  /** The invariant that must fail. */
  fails: InvariantId;
  /** Breaks a copy of the stack's graph in place (the spec is read-only context). */
  mutate(graph: ResourceGraph, spec: SandboxSpec): void;
  /** The unwaived finding that must appear: its resource (`type::name`) and message. */
  finding: { resource: RegExp; message: RegExp };
}

/** The rows of docs/equivalence.md, in order. */
export const EQUIVALENCE_ASPECTS = {
  boundary: "Boundary",
  firewall: "Firewall",
  dns: "DNS",
  workload: "Workload",
  tee: "TEE",
  gate: "Egress gate",
  record: "Record",
  canaries: "Canaries",
  killSwitch: "Kill switch",
  ttl: "TTL",
} as const;
export type EquivalenceAspect = keyof typeof EQUIVALENCE_ASPECTS;

export interface Equivalence {
  /** One cell per aspect: how this backend provides it (short; the file that decides it in backticks). */
  aspects: Record<EquivalenceAspect, string>;
  /** Every place the backend cannot match the others exactly, and what Airlock does instead. */
  differences: readonly string[];
}

/** The loader of a backend that is designed in the spec but whose component has not landed yet. */
export function notBuiltYet(backend: Backend): () => never {
  return () => {
    throw new Error(`backend '${backend}' is not built yet: its component has not landed (components/${backend}/); use aws or local for now`);
  };
}
