// Exclusive host resources shared by all sandboxes on a host — a /30 for each veth pair, a uid for
// each workload, each set of targets and each gate — are leased by creating a file with O_EXCL under
// a lease directory. Creating a file is atomic, so concurrent `airlock` processes can never be
// handed the same subnet or uid. The file holds the owning sandbox id; its removal is journaled
// (undo kind "lease") before it is created, and the sweeper removes leases whose owner is gone.
//
// Where: uid leases live host-wide, under /run/airlock/leases/uid, whatever the state directory
// (AIRLOCK_STATE_DIR). With one pool per state directory, two users or harnesses on one host were
// handed the same uid — and the gate's host nft rule matches `meta skuid <gate uid>`, so a shared
// gate uid let one sandbox's gate reach another's upstreams (and shared workload uids share
// keyrings, rlimits, inotify quotas); nothing on the host tells a taken uid from a free one the way
// the route table does for a /30. Subnet leases stay in <state>/leases/net: foreignRoutes() already
// keeps them apart across state directories. Staleness is judged by the owner, never by the
// directory being emptied at boot (/run need not be a tmpfs): a sweep from any state directory
// removes a lease whose owner liveOwnerIds() — host-wide — does not list.
//
// Probing starts at a hash of the sandbox id, so that 50 sandboxes created at once rarely even try
// the same slot.
import * as fs from "fs";
import * as path from "path";
import { registerUndo, UndoJournal } from "../host/journal";
import { statePath } from "../host/state";
import { shortHash } from "../naming";
import { intToIpv4, ipv4ToInt, parseCidr, inRange } from "../spec/net";
import { run } from "../host/exec";

/** The host-wide lease directory (one subdirectory per host-wide kind). */
export const HOST_LEASES_DIR = "/run/airlock/leases";
/** Kinds no host object keeps apart across state directories: one pool for the whole host. */
const HOST_WIDE_KINDS = new Set(["uid"]);

let hostLeasesRoot = (): string => HOST_LEASES_DIR;
/**
 * Tests only: where host-wide leases go (undefined: back to HOST_LEASES_DIR). Lets a test show the
 * per-state layout colliding (positive control) without a copy of the old code.
 */
export function setHostLeasesRootForTests(root: (() => string) | undefined): void {
  hostLeasesRoot = root ?? (() => HOST_LEASES_DIR);
}

export function leaseDir(kind: string): string {
  if (!HOST_WIDE_KINDS.has(kind)) return statePath("leases", kind);
  const dir = path.join(hostLeasesRoot(), kind);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

class LeaseTaken extends Error {}

/** Every candidate of a pool is taken (or unusable): callers add the pool's name and the fix. */
export class LeasesExhausted extends Error {
  constructor(
    public readonly kind: string,
    public readonly tried: number,
  ) {
    super(`no free ${kind} lease among ${tried} candidates`);
  }
}

/** What frees or widens the /30 pool; shared by every message about it so they stay the same. */
const NET_POOL_FIX = "destroy stale sandboxes (`airlock sweep`, or `airlock sandbox destroy <id>`) or widen network.cidr (a /30 per sandbox and one per set of targets)";

/**
 * Leases the first free key from `candidates` (in order) that `usable` accepts. Returns the key.
 * Every attempt is journaled before the file is created; a taken key's journal entry is undone at
 * once, and the undo never removes a lease another sandbox holds (the file would not be ours).
 */
export async function leaseFirst(journal: UndoJournal, kind: string, owner: string, candidates: Iterable<string>, usable: (key: string) => boolean = () => true): Promise<string> {
  const dir = leaseDir(kind);
  let tried = 0;
  for (const key of candidates) {
    tried++;
    if (!usable(key)) continue;
    const file = path.join(dir, key);
    if (fs.existsSync(file)) continue;
    try {
      await journal.apply("lease", `${kind} lease ${key}`, { file, owner }, () => {
        try {
          fs.writeFileSync(file, owner, { flag: "wx", mode: 0o600 });
        } catch (e: any) {
          if (e.code === "EEXIST") throw new LeaseTaken();
          throw e;
        }
      });
      return key;
    } catch (e) {
      if (!(e instanceof LeaseTaken)) throw e;
    }
  }
  throw new LeasesExhausted(kind, tried);
}

/** Owner (sandbox id) of every lease of a kind, for the sweeper (host-wide kinds: every state directory's). */
export function listLeases(kind: string): { file: string; key: string; owner: string }[] {
  const dir = leaseDir(kind);
  return fs.readdirSync(dir).map((key) => {
    const file = path.join(dir, key);
    let owner = "";
    try {
      owner = fs.readFileSync(file, "utf8").trim();
    } catch {
      /* removed meanwhile */
    }
    return { file, key, owner };
  });
}

/** Removes a lease only if `owner` still holds it (a freed key may have been leased again meanwhile). */
export function releaseLease(file: string, owner: string): void {
  try {
    if (fs.readFileSync(file, "utf8").trim() !== owner) return;
  } catch {
    return; // already gone
  }
  fs.rmSync(file, { force: true });
}

// The undo: remove the lease only if it is still ours.
registerUndo("lease", (a: { file: string; owner: string }) => releaseLease(a.file, a.owner));

// ---- subnets ----

export interface Slash30 {
  /** Lease key, e.g. "10.77.3.8" (the network address). */
  key: string;
  network: string;
  /** Host side of the veth (the gate listens here). */
  hostAddress: string;
  /** Namespace side. */
  innerAddress: string;
  prefix: 30;
}

export function slash30(network: string): Slash30 {
  const n = ipv4ToInt(network)!;
  return { key: network, network, hostAddress: intToIpv4(n + 1), innerAddress: intToIpv4(n + 2), prefix: 30 };
}

/**
 * IPv4 networks already routed on this host — including other sandboxes' (those of another state
 * directory hold leases this process cannot see) — so that a new /30 never overlaps one.
 */
export async function foreignRoutes(): Promise<{ dst: string; dev: string }[]> {
  const r = await run("ip", ["-j", "-4", "route", "show", "table", "all"], { allowFail: true });
  if (r.code !== 0) return [];
  const routes: { dst?: string; dev?: string; type?: string }[] = JSON.parse(r.stdout || "[]");
  return routes
    .filter((x) => x.dst && x.dst !== "default" && (x.type ?? "unicast") === "unicast")
    .map((x) => ({ dst: x.dst!.includes("/") ? x.dst! : `${x.dst}/32`, dev: x.dev ?? "" }));
}

function overlaps(a: { address: string; prefix: number }, b: { address: string; prefix: number }): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return inRange(a.address, b.address, p);
}

/** Leases a /30 inside `cidr` that no foreign route on the host overlaps. */
export async function leaseSlash30(journal: UndoJournal, owner: string, cidr: string, salt: string): Promise<Slash30> {
  const c = parseCidr(cidr);
  if (!c) throw new Error(`network.cidr '${cidr}' is not an IPv4 CIDR; set it to a private range such as 10.77.0.0/16`);
  // A prefix longer than /30 holds no /30 at all (2 ** negative slots): refuse rather than probe nothing.
  if (c.prefix > 30) throw new Error(`network.cidr '${cidr}' is narrower than the /30 each sandbox leases; widen it (e.g. to a /24 or larger)`);
  const base = ipv4ToInt(c.address)! & ((0xffffffff << (32 - c.prefix)) >>> 0);
  const slots = 2 ** (30 - c.prefix);
  const foreign = (await foreignRoutes()).map((r) => parseCidr(r.dst)).filter((x): x is NonNullable<typeof x> => !!x);
  const start = parseInt(shortHash(owner + salt, 8), 16) % slots;
  function* candidates() {
    for (let i = 0; i < slots; i++) yield intToIpv4((base >>> 0) + 4 * ((start + i) % slots));
  }
  let skippedForeign = 0;
  const usable = (net: string) => {
    const free = !foreign.some((f) => overlaps({ address: net, prefix: 30 }, f));
    if (!free) skippedForeign++;
    return free;
  };
  try {
    return slash30(await leaseFirst(journal, "net", owner, candidates(), usable));
  } catch (e) {
    if (!(e instanceof LeasesExhausted)) throw e;
    const routed = skippedForeign ? ` (${skippedForeign} of them overlap routes already on this host)` : "";
    throw new Error(`network.cidr '${cidr}' has no free /30 left: all ${slots} are taken${routed}; ${NET_POOL_FIX}`);
  }
}

// ---- uids ----

/** Workload and target uids come from a range no distribution allocates (below 2^31, above subuid ranges). */
export const UID_BASE = 2_000_000_000;
export const UID_RANGE = 1_000_000;

/**
 * Leases a uid no other sandbox on the host uses, whatever its state directory: a per-sandbox uid
 * keeps keyrings, rlimits and inotify quotas apart, and the gate's uid is what its nft rule matches.
 */
export async function leaseUid(journal: UndoJournal, owner: string, salt: string): Promise<number> {
  const start = parseInt(shortHash(owner + salt, 8), 16) % UID_RANGE;
  function* candidates() {
    for (let i = 0; i < UID_RANGE; i++) yield String(UID_BASE + ((start + i) % UID_RANGE));
  }
  return Number(await leaseFirst(journal, "uid", owner, candidates()));
}
