// Loads every module that registers an undo kind used by local sandboxes, so that any process that
// replays journals (`airlock recover`, `airlock sweep`, the chaos runner) can undo a local sandbox:
//   netns, link (netns.ts) · nft-table (nft.ts) · path, mount (hostfs.ts) · lease (leases.ts)
//   cgroup, cgroup-limit (host/cgroup.ts) · process (host/journal.ts) · toxiproxy-* (host/toxiproxy.ts)
import "../host/journal";
import "../host/cgroup";
import "../host/toxiproxy";
import "./netns";
import "./nft";
import "./hostfs";
import "./leases";

export const LOCAL_UNDO_KINDS = ["netns", "link", "nft-table", "path", "mount", "lease", "cgroup", "process", "toxiproxy-proxy"] as const;
