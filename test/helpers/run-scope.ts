// Which host objects belong to *this* test run, so that the suite-wide leftover check fails on this
// run's leaks only and never on what else runs Airlock on the host (a benchmark, another checkout, a
// sandbox a user made by hand), which it reports as a note instead.
//
// A run knows its own objects without asking the code under test:
//   - sandboxes: every id this run's state directory (AIRLOCK_STATE_DIR, one per run: test/setup.ts)
//     has had a journal, handle or record for. The undo journal is written before the first host
//     change and records are never deleted, so an id is known from before its first object exists
//     until long after its last is gone; the kernel then ties objects to the id (kernel-view.ts);
//   - fixtures (stand-in internet hosts, scratch namespaces, chaos cgroups): named with RUN_TAG, or
//     with the pid of this run's mocha process, in the fixture shapes below;
//   - processes: started with this run's AIRLOCK_STATE_DIR or AIRLOCK_TEST_RUN in their environment,
//     or inside one of this run's cgroups or namespaces.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { HostObject, sandboxObjects, Snapshot, vethPeersIn } from "./kernel-view";

/** 4 hex, the same in every process of the run (children inherit it through the environment). */
export const RUN_TAG: string = (process.env.AIRLOCK_TEST_RUN ??= crypto.randomBytes(2).toString("hex"));

const marker = () => `(${RUN_TAG}|${process.pid})`;
/**
 * Fixture namespaces, cgroups and nft tables: airlock-tf-<role>-<marker>[-n], airlock-ctns-<marker>-n, airlock-chaostest-<marker>-n.
 * Never ending in 6 hex (a pid can be six digits: prefer RUN_TAG): `airlock sweep` leaves alone only
 * what is not sandbox-shaped (components/local/hostscan.ts sweepable), so another run's sweep must
 * not take a fixture for an orphaned sandbox.
 */
const fixtureName = () => new RegExp(`^airlock-(tf-[a-z]+|ctns|chaostest)-${marker()}(-\\d+)?$`);
/** Fixture interface names (IFNAMSIZ 15): airlocktf<tag><letter>, airlockct<tag><n>. */
const fixtureIface = () => new RegExp(`^airlock(tf|ct)${RUN_TAG}[a-z0-9]{0,2}$`);

/** The sandbox ids this run's state directory knows: journals, handles, records (by file name). */
export function ownSandboxIds(stateDir = process.env.AIRLOCK_STATE_DIR!): Set<string> {
  const ids = new Set<string>();
  const stems = (dir: string, ext: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(ext)).map((f) => f.slice(0, -ext.length)) : []);
  for (const s of stems(path.join(stateDir, "journals"), ".jsonl")) ids.add(s.replace(/^chaos-/, ""));
  for (const s of stems(path.join(stateDir, "records"), ".jsonl")) ids.add(s);
  const sandboxes = path.join(stateDir, "sandboxes");
  if (fs.existsSync(sandboxes)) for (const d of fs.readdirSync(sandboxes)) ids.add(d);
  return ids;
}

export interface Scoped {
  own: HostObject[];
  foreign: HostObject[];
}

const keyOf = (o: HostObject) => `${o.kind}:${o.key}`;

/** Splits the host's Airlock-looking objects (kernel-view's airlockObjects) into this run's and everyone else's. */
export function scope(objects: HostObject[], snap: Snapshot, stateDir = process.env.AIRLOCK_STATE_DIR!): Scoped {
  const ownKeys = new Set<string>();
  for (const id of ownSandboxIds(stateDir)) for (const o of sandboxObjects(id, snap)) ownKeys.add(keyOf(o));
  const fixture = fixtureName();
  const iface = fixtureIface();
  const fixtureNs = snap.netns.filter((n) => fixture.test(n.name));
  const fixtureNsInos = new Set(fixtureNs.map((n) => n.ino));
  const fixturePeers = new Set(vethPeersIn(snap, fixtureNs.map((n) => n.name)));
  const own: HostObject[] = [];
  const foreign: HostObject[] = [];
  for (const o of objects) {
    let mine = ownKeys.has(keyOf(o));
    if (o.kind === "netns" || o.kind === "nft-table" || o.kind === "cgroup") mine ||= fixture.test(path.basename(o.key.split(" ").pop()!));
    if (o.kind === "link") mine ||= iface.test(o.key) || fixturePeers.has(o.key);
    if (o.kind === "mount") mine ||= o.key.startsWith(stateDir + "/") || fixture.test(`airlock-${/\/sandboxes\/([^/]+)\/fs$/.exec(o.key)?.[1]}`);
    if (o.kind === "process" && o.proc) {
      const p = o.proc;
      mine ||= p.stateDir === stateDir || p.testRun === RUN_TAG || p.argv.some((a) => a.includes(stateDir));
      mine ||= p.cgroups.some((c) => c.split("/").some((part) => fixture.test(part)));
      mine ||= p.netnsIno !== undefined && fixtureNsInos.has(p.netnsIno);
    }
    (mine ? own : foreign).push(o);
  }
  return { own, foreign };
}
