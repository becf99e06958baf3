// Host object names of one local sandbox. Every object starts with "airlock" and carries the sandbox
// id, so that `airlock sweep` can find it and tell which sandbox it belongs to:
//
//   network namespaces   airlock-<id>            airlock-<id>-svc (targets)
//   nft tables           inet airlock-<id>  (on the host, and inside each namespace)
//   cgroups              airlock-<id>            airlock-<id>-svc        airlock-<id>-gate (the gate)
//   gate process         argv[0] airlock-gate-<id>
//   namespace anchor     argv[0] airlock-anchor-<id>
//   host-side veths      airlock<hash7>s         airlock<hash7>t   + link alias "airlock:<id>"
//
// Interface names are limited to 15 characters (IFNAMSIZ), too short for an id. The host side is
// therefore "airlock" + 7 hex of sha256(id) + one letter (15 chars), with the full id in the link's
// alias; the sandbox side is created directly inside the namespace with a fixed name (eth0), where it
// cannot clash with anything. A hash collision makes `ip link add` fail ("File exists") and the create
// is undone — it can never attach to another sandbox's link.
import { NAME_PREFIX, shortHash } from "../naming";

/** The interface name inside every sandbox (and targets) namespace. */
export const INNER_IFACE = "eth0";
export const LINK_ALIAS_PREFIX = `${NAME_PREFIX}:`;
const SVC_SUFFIX = "-svc";
const GATE_SUFFIX = "-gate";
const GATE_PREFIX = `${NAME_PREFIX}-gate-`;
const ANCHOR_PREFIX = `${NAME_PREFIX}-anchor-`;

/** Ids are used in paths and object names: keep them to a safe alphabet. */
export const SANDBOX_ID_RE = /^[a-z][a-z0-9-]{1,62}[a-z0-9]$/;

export interface HostNames {
  netns: string;
  svcNetns: string;
  hostIface: string;
  svcHostIface: string;
  linkAlias: string;
  nftTable: string;
  svcNftTable: string;
  cgroup: string;
  svcCgroup: string;
  gateCgroup: string;
  gateProcess: string;
  anchorProcess: string;
}

export function hostNames(id: string): HostNames {
  if (!SANDBOX_ID_RE.test(id)) throw new Error(`'${id}' is not a valid sandbox id`);
  const h = shortHash(id, 7);
  const base = `${NAME_PREFIX}-${id}`;
  return {
    netns: base,
    svcNetns: base + SVC_SUFFIX,
    hostIface: `${NAME_PREFIX}${h}s`,
    svcHostIface: `${NAME_PREFIX}${h}t`,
    linkAlias: LINK_ALIAS_PREFIX + id,
    nftTable: base,
    svcNftTable: base + SVC_SUFFIX,
    cgroup: base,
    svcCgroup: base + SVC_SUFFIX,
    gateCgroup: base + GATE_SUFFIX,
    gateProcess: GATE_PREFIX + id,
    anchorProcess: ANCHOR_PREFIX + id,
  };
}

/** Toxiproxy proxy name of one allowed upstream. */
export function proxyName(id: string, upstream: string): string {
  return `${NAME_PREFIX}-${id}-${upstream}`;
}

/**
 * The sandbox id an object name belongs to (netns, nft table, cgroup, gate/anchor argv[0]), or undefined if
 * the name is not of that shape. Interface names carry no id; read their alias instead.
 */
export function sandboxIdOfName(name: string): string | undefined {
  let rest: string;
  if (name.startsWith(GATE_PREFIX)) rest = name.slice(GATE_PREFIX.length);
  else if (name.startsWith(ANCHOR_PREFIX)) rest = name.slice(ANCHOR_PREFIX.length);
  else if (name.startsWith(`${NAME_PREFIX}-`)) rest = name.slice(NAME_PREFIX.length + 1);
  else return undefined;
  if (rest.endsWith(SVC_SUFFIX)) rest = rest.slice(0, -SVC_SUFFIX.length);
  else if (rest.endsWith(GATE_SUFFIX) && !name.startsWith(GATE_PREFIX)) rest = rest.slice(0, -GATE_SUFFIX.length);
  return SANDBOX_ID_RE.test(rest) ? rest : undefined;
}

/** The sandbox id in a gate's or anchor's argv[0] (airlock-gate-<id>, airlock-anchor-<id>). */
export function sandboxIdOfProcessName(argv0: string): string | undefined {
  return argv0.startsWith(GATE_PREFIX) || argv0.startsWith(ANCHOR_PREFIX) ? sandboxIdOfName(argv0) : undefined;
}

/** True for a host-side veth name of the shape Airlock creates. */
export function isAirlockIfaceName(name: string): boolean {
  return new RegExp(`^${NAME_PREFIX}[0-9a-f]{7}[st]$`).test(name);
}
