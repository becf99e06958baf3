// uid leases are host-wide: two state directories (two users, two harnesses on one host) are never
// handed the same uid. The gate's host nft rule matches `meta skuid <gate uid>`, so a shared uid
// would let one sandbox's gate reach another sandbox's upstreams.
//
// The probe starts at a hash of the sandbox id, and a sandbox id may repeat across state directories
// (each names its own sandboxes): the same id in A and B probes the same uid first — a deterministic
// collision whenever the pools are separate. Positive control: the same two leases with the lease
// root pointed back at each state directory (the old layout) get the same uid.
// Needs root: the host-wide pool is /run/airlock/leases (run under /work/helpers/hostlock).
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { UndoJournal } from "../components/host/journal";
import { HOST_LEASES_DIR, leaseUid, listLeases, setHostLeasesRootForTests } from "../components/local/leases";
import { stateDir } from "../components/host/state";
import { skipBecause } from "./helpers/common";

describe("uid leases across state directories", function () {
  const saved = process.env.AIRLOCK_STATE_DIR;
  const dirs: string[] = [];
  const journals: { dir: string; j: UndoJournal }[] = [];
  const owner = `uidlease-${process.pid}-${Date.now().toString(36)}`;

  before(function () {
    if (process.getuid?.() !== 0) skipBecause(this, "needs root: the host-wide uid lease pool under /run/airlock is root's");
  });

  function useState(dir: string) {
    process.env.AIRLOCK_STATE_DIR = dir;
  }
  function newStateDir(tag: string): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `airlock-uidlease-${tag}-`));
    dirs.push(d);
    return d;
  }
  /** Leases the gate uid of `owner` in state dir `dir`, with a journal of that state dir. */
  async function gateUidIn(dir: string): Promise<number> {
    useState(dir);
    const j = UndoJournal.open(`${owner}-${path.basename(dir)}`, { purpose: "test" });
    journals.push({ dir, j });
    return leaseUid(j, owner, "gate");
  }

  afterEach(async () => {
    for (const { dir, j } of journals.splice(0)) {
      useState(dir);
      await j.undoAll();
      j.close();
    }
    setHostLeasesRootForTests(undefined);
    if (saved === undefined) delete process.env.AIRLOCK_STATE_DIR;
    else process.env.AIRLOCK_STATE_DIR = saved;
  });
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it("the same sandbox id in two state directories gets two different uids, both leased in the host-wide pool", async () => {
    const a = await gateUidIn(newStateDir("a"));
    const b = await gateUidIn(newStateDir("b"));
    assert.notStrictEqual(a, b, `state dirs A and B were both handed uid ${a}`);
    const held = fs
      .readdirSync(path.join(HOST_LEASES_DIR, "uid"))
      .filter((k) => fs.readFileSync(path.join(HOST_LEASES_DIR, "uid", k), "utf8") === owner)
      .map(Number)
      .sort();
    assert.deepStrictEqual(held, [a, b].sort(), "the two leases are not both in /run/airlock/leases/uid");
    for (const d of dirs) assert.ok(!fs.existsSync(path.join(d, "leases", "uid")), `a uid lease went to the state dir ${d}`);
  });

  it("many leases from two state directories at once never share a uid", async () => {
    const A = newStateDir("ca");
    const B = newStateDir("cb");
    // Journals are opened per state dir; the leases then race in one event loop (each lease's file is
    // created with O_EXCL, so the race is decided by the file system, not by the order here).
    const open = (dir: string, i: number) => {
      useState(dir);
      const j = UndoJournal.open(`${owner}-c${i}-${path.basename(dir)}`, { purpose: "test" });
      journals.push({ dir, j });
      return j;
    };
    const js = [0, 1, 2, 3, 4, 5].map((i) => open(i % 2 ? B : A, i));
    // Pairs (A, B) share a salt, so each pair probes the same uid first. leaseUid picks its pool
    // synchronously, before its first await: the state dir set just before each call is the one used.
    const uids = await Promise.all(
      js.map((j, i) => {
        useState(i % 2 ? B : A);
        return leaseUid(j, `${owner}-same`, `salt-${i >> 1}`);
      }),
    );
    assert.strictEqual(new Set(uids).size, uids.length, `a uid was handed out twice: ${uids}`);
  });

  it("positive control: with the lease root pointed at each state directory (the old layout), the same two leases collide", async () => {
    setHostLeasesRootForTests(() => path.join(stateDir(), "leases"));
    const a = await gateUidIn(newStateDir("pa"));
    const b = await gateUidIn(newStateDir("pb"));
    assert.strictEqual(a, b, "per-state pools did not collide: the test above would prove nothing");
  });

  it("undo releases the host-wide leases", async () => {
    await gateUidIn(newStateDir("u"));
    const { dir, j } = journals.pop()!;
    useState(dir);
    await j.undoAll();
    j.close();
    assert.deepStrictEqual(listLeases("uid").filter((l) => l.owner === owner), [], "undo left the uid lease");
  });
});
