// What the backend list (components/backends.ts) knows of GCP. Its component is not built yet: the
// spec rules (TEE kinds) already apply, and loading the component refuses clearly. The GCP helper
// replaces loadComponent and adds facts, mocks (see docs/backends.md).
import type { BackendDescriptor } from "../backend-descriptor";
import { notBuiltYet } from "../backend-descriptor";
import { gcpRules } from "./rules";

export const gcpBackend: BackendDescriptor = {
  name: "gcp",
  title: "GCP",
  labelStyle: "gcp",
  rules: gcpRules,
  loadComponent: notBuiltYet("gcp"),
};
