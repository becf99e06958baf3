// A second writer of a record, for the lock tests (test/record-robustness.test.ts): appends one entry
// whose data stalls — or kills this process — while the append holds the record's lock (the entry is
// hashed under the lock, so a getter in its data runs there). It creates <marker> when it is inside.
//   node bin/run-ts.js test/helpers/record-writer.ts <record> stall <ms> <marker>
//   node bin/run-ts.js test/helpers/record-writer.ts <record> die - <marker>
import * as fs from "fs";
import { ChainLog } from "../../components/record/chain-log";

const [file, mode, ms, marker] = process.argv.slice(2);
const data: Record<string, unknown> = { writer: process.pid };
Object.defineProperty(data, "insideTheLock", {
  enumerable: true,
  get() {
    if (!fs.existsSync(marker)) {
      fs.writeFileSync(marker, String(process.pid));
      if (mode === "die") process.kill(process.pid, "SIGKILL");
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(ms));
    }
    return true;
  },
});
new ChainLog(file).append("slow-writer", data);
