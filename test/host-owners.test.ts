// The host-wide owner registry (components/host/owners.ts): what makes a runner of any state
// directory live for every sweep on the host. Entries are read here as plain files.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { listRegisteredOwners, liveRegisteredOwners, OWNERS_DIR, pruneStaleOwners, registerOwner, unregisterOwner } from "../components/host/owners";
import { UndoJournal } from "../components/host/journal";
import { selfRef } from "../components/host/process";
import { skipBecause } from "./helpers/common";

/** A ref to this pid with another start time: what a dead runner whose pid was reused looks like. */
const reusedPid = () => ({ pid: process.pid, startTime: selfRef().startTime + 1 });

describe("host: owner registry (/run/airlock/owners)", () => {
  let dir: string;
  beforeEach(() => void (dir = fs.mkdtempSync(path.join(os.tmpdir(), "airlock-owners-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a live runner's entry makes its owner live; a dead one's (pid reused) or an earlier boot's does not", () => {
    const journal = "/nowhere/journals/a.jsonl";
    registerOwner({ owner: "live-aaaaaa", purpose: "t", runner: selfRef(), journal }, dir);
    registerOwner({ owner: "dead-bbbbbb", purpose: "t", runner: reusedPid(), journal }, dir);
    const other = registerOwner({ owner: "oldboot-cccccc", purpose: "t", runner: selfRef(), journal: "/nowhere/journals/c.jsonl" }, dir)!;
    fs.writeFileSync(other, JSON.stringify({ ...JSON.parse(fs.readFileSync(other, "utf8")), boot: "an-earlier-boot" }));
    assert.deepStrictEqual([...liveRegisteredOwners(dir)], ["live-aaaaaa"]);
    assert.strictEqual(listRegisteredOwners(dir).length, 3);
  });

  it("the same owner id in two state directories has two entries; unregistering one leaves the other", () => {
    const a = "/state-a/journals/x-dddddd.jsonl";
    const b = "/state-b/journals/x-dddddd.jsonl";
    registerOwner({ owner: "x-dddddd", purpose: "t", runner: selfRef(), journal: a }, dir);
    registerOwner({ owner: "x-dddddd", purpose: "t", runner: selfRef(), journal: b }, dir);
    unregisterOwner("x-dddddd", a, selfRef(), dir);
    assert.deepStrictEqual(listRegisteredOwners(dir).map((e) => e.journal), [b]);
    assert.ok(liveRegisteredOwners(dir).has("x-dddddd"));
  });

  it("pruning removes dead runners' entries with nothing left to recover, keeps those with work left and every live one", () => {
    const work = new Set(["/s/journals/open.jsonl"]);
    const workLeft = (f: string) => work.has(f);
    registerOwner({ owner: "deadopen-eeeeee", purpose: "t", runner: reusedPid(), journal: "/s/journals/open.jsonl" }, dir);
    registerOwner({ owner: "deaddone-ffffff", purpose: "t", runner: reusedPid(), journal: "/s/journals/done.jsonl" }, dir);
    registerOwner({ owner: "livedone-aaaaab", purpose: "t", runner: selfRef(), journal: "/s/journals/live.jsonl" }, dir);
    assert.deepStrictEqual(pruneStaleOwners(workLeft, dir), ["deaddone-ffffff"]);
    assert.deepStrictEqual(listRegisteredOwners(dir).map((e) => e.owner).sort(), ["deadopen-eeeeee", "livedone-aaaaab"]);
  });

  it("as root, an entry not owned by root is ignored (a name is a claim anyone could make)", function () {
    if (process.getuid?.() !== 0) skipBecause(this, "needs root to chown an entry to another user");
    const f = registerOwner({ owner: "forged-abcdef", purpose: "t", runner: selfRef(), journal: "/s/journals/f.jsonl" }, dir)!;
    fs.chownSync(f, 65534, 65534);
    assert.deepStrictEqual(listRegisteredOwners(dir), []);
  });

  it("UndoJournal.open registers before its journal exists and close() unregisters (the real registry)", function () {
    if (process.getuid?.() !== 0) skipBecause(this, `needs root to write ${OWNERS_DIR}`);
    const owner = `hostowners-${process.pid}`;
    const mine = () => fs.readdirSync(OWNERS_DIR).filter((n) => n.startsWith(`${owner}.`)).map((n) => JSON.parse(fs.readFileSync(path.join(OWNERS_DIR, n), "utf8")));
    const j = UndoJournal.open(owner, { purpose: "test" });
    const entries = mine();
    assert.strictEqual(entries.length, 1, "no registry entry for an open journal");
    assert.strictEqual(entries[0].journal, path.resolve(j.file));
    assert.deepStrictEqual(entries[0].runner, selfRef());
    // Written before the journal: its timestamp is not after the journal's open line.
    const openLine = JSON.parse(fs.readFileSync(j.file, "utf8").split("\n")[0]);
    assert.ok(entries[0].at <= openLine.at, `entry at ${entries[0].at}, journal opened at ${openLine.at}`);
    j.close();
    assert.deepStrictEqual(mine(), [], "the entry outlived the journal's close");
  });
});
