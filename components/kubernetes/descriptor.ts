// What the backend list (components/backends.ts) knows of Kubernetes. Its component is not built yet: the
// spec rules (TEE kinds) already apply, and loading the component refuses clearly. The Kubernetes helper
// replaces loadComponent and adds facts, mocks (see docs/backends.md).
import type { BackendDescriptor } from "../backend-descriptor";
import { notBuiltYet } from "../backend-descriptor";
import { kubernetesRules } from "./rules";

export const kubernetesBackend: BackendDescriptor = {
  name: "kubernetes",
  title: "Kubernetes",
  labelStyle: "kubernetes",
  rules: kubernetesRules,
  loadComponent: notBuiltYet("kubernetes"),
};
