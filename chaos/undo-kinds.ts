// Loads every module that registers an undo kind used by chaos runs, so that a process which only
// recovers (the watchdog, `airlock recover`) can undo every step a runner journaled.
import "../components/host/journal"; // process
import "../components/host/cgroup"; // cgroup, cgroup-limit
import "../components/host/toxiproxy"; // toxiproxy-proxy, toxiproxy-toxic, toxiproxy-enabled
import "./faults/netem"; // tc-qdisc-root

export const CHAOS_UNDO_KINDS = ["cgroup-limit", "toxiproxy-toxic", "toxiproxy-enabled", "tc-qdisc-root"];
