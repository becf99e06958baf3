// What the backend list (components/backends.ts) knows of Azure. Its component is not built yet: the
// spec rules (TEE kinds) already apply, and loading the component refuses clearly. The Azure helper
// replaces loadComponent and adds facts, mocks (see docs/backends.md).
import type { BackendDescriptor } from "../backend-descriptor";
import { notBuiltYet } from "../backend-descriptor";
import { azureRules } from "./rules";

export const azureBackend: BackendDescriptor = {
  name: "azure",
  title: "Azure",
  labelStyle: "tags",
  rules: azureRules,
  loadComponent: notBuiltYet("azure"),
};
