// What a backend is, in one object. Each backend folder exports one `BackendDescriptor` from
// `components/<backend>/descriptor.ts`; `components/backends.ts` lists them, and every place that
// needs to know about backends (spec validation, the invariant checks, the mock graph, the program)
// asks that list — adding a backend touches its own folder and one line of the list.
//
// A descriptor module must stay light: pure data and functions, no cloud SDK import. The component
// (which loads @pulumi/<cloud>) is reached only through `loadComponent()`, so validating a spec,
// running the local backend or checking invariants never loads a cloud SDK it does not need.
// How to write one: docs/backends.md.
import type { Backend } from "./spec/schema";
import type { LabelStyle } from "./naming";
import type { BackendRules } from "./spec/backend-rules";
import type { CloudRuleTable } from "./invariants/types";
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
   * The invariant facts (components/<backend>/facts.ts): how I1–I8 read this platform's resource
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
}

/** The loader of a backend that is designed in the spec but whose component has not landed yet. */
export function notBuiltYet(backend: Backend): () => never {
  return () => {
    throw new Error(`backend '${backend}' is not built yet: its component has not landed (components/${backend}/); use aws or local for now`);
  };
}
