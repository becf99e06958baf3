// The GCP backend's component (loaded lazily by the backend registry, so the local path never loads
// @pulumi/gcp).
export { GcpSandbox, GCP_SANDBOX_TYPE, assertGcpBuildable } from "./component";
