// Queues appends on a record with deferred writes and exits at once (process.exit, nothing awaited),
// for test/local-record-writer.test.ts: whatever was queued must still be in the record.
//   node bin/run-ts.js test/helpers/record-deferred-exit.ts <record> <count>
import { openRecord, safeAppend } from "../../components/local/record";

const [file, count] = process.argv.slice(2);
const log = openRecord(file);
log.deferWrites();
for (let i = 0; i < Number(count); i++) safeAppend(log, "queued", { i });
process.exit(0);
