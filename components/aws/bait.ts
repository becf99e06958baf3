// Moved to components/cloud/bait.ts (shared by every cloud backend). This re-export keeps
// components/gcp/bait.ts, which another helper is editing, compiling; delete it once that file
// imports ../cloud/bait.
export * from "../cloud/bait";
