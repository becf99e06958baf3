// What the backend list (components/backends.ts) knows of the local backend (one Linux host). It
// has no Pulumi resource graph to check: its guarantees are proven against the running host (the
// local-* tests), so it names no invariant facts and no mocks.
import type { BackendDescriptor } from "../backend-descriptor";
import { localRules } from "./rules";
import { localEquivalence } from "./equivalence";

export const localBackend: BackendDescriptor = {
  name: "local",
  title: "Local host",
  labelStyle: "tags",
  rules: localRules,
  equivalence: localEquivalence,
  loadComponent: () => {
    const { LocalSandbox } = require("./component") as typeof import("./component");
    return (name, args, opts) => new LocalSandbox(name, args, opts);
  },
};
