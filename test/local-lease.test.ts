// The local backend's /30 pool (network.cidr): when it is full or malformed, the error names the
// CIDR and what to do about it. Exercises the allocator directly on a tiny pool under the test
// state directory — no root, no host changes (it only reads the host's routes).
import * as assert from "assert";
import { UndoJournal } from "../components/host/journal";
import { leaseSlash30 } from "../components/local/leases";

describe("local /30 lease pool errors", () => {
  const journals: UndoJournal[] = [];
  const open = (name: string) => {
    const j = UndoJournal.open(`lease-pool-${process.pid}-${name}`, { purpose: "test" });
    journals.push(j);
    return j;
  };
  afterEach(async () => {
    for (const j of journals.splice(0)) {
      await j.undoAll();
      j.close();
    }
  });

  it("an exhausted pool names network.cidr, its value and the fix", async () => {
    // A /29 holds two /30s: two sandboxes take them both, the third finds none.
    const pool = "10.254.254.0/29";
    await leaseSlash30(open("a"), "sandbox-a", pool, "sandbox");
    await leaseSlash30(open("b"), "sandbox-b", pool, "sandbox");
    await assert.rejects(leaseSlash30(open("c"), "sandbox-c", pool, "sandbox"), (e: Error) => {
      assert.match(e.message, /network\.cidr '10\.254\.254\.0\/29'/, "message does not name the pool's CIDR");
      assert.match(e.message, /airlock sweep/, "message does not say how to free leases");
      assert.match(e.message, /widen network\.cidr/, "message does not say how to grow the pool");
      return true;
    });
  });

  it("a CIDR narrower than a /30 is refused by name, with the fix", async () => {
    await assert.rejects(leaseSlash30(open("d"), "sandbox-d", "10.254.254.0/31", "sandbox"), (e: Error) => {
      assert.match(e.message, /network\.cidr '10\.254\.254\.0\/31'/);
      assert.match(e.message, /widen it/);
      return true;
    });
  });

  it("a value that is not a CIDR is refused by name, with an example", async () => {
    await assert.rejects(leaseSlash30(open("e"), "sandbox-e", "10.254.254.0", "sandbox"), /network\.cidr '10\.254\.254\.0' is not an IPv4 CIDR; set it to .*\/16/);
  });
});
