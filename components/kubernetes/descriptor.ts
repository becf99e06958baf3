// What the backend list (components/backends.ts) knows of Kubernetes. Pure: the component (index.ts
// -> component.ts), and with it @pulumi/kubernetes, is loaded only by `loadComponent()`. Invariant
// facts and mocks are the Kubernetes helper's to add (docs/backends.md).
import type { BackendDescriptor } from "../backend-descriptor";
import { kubernetesRules } from "./rules";

export const kubernetesBackend: BackendDescriptor = {
  name: "kubernetes",
  title: "Kubernetes",
  labelStyle: "kubernetes",
  rules: kubernetesRules,
  loadComponent: () => {
    const { buildKubernetes } = require("./index") as typeof import("./index");
    return (name, args, opts) => buildKubernetes(name, args, opts);
  },
};
