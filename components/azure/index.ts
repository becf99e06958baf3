// The Azure backend's entry point (loaded lazily by the backend registry).
export { AzureSandbox, AZURE_SANDBOX_TYPE } from "./component";
