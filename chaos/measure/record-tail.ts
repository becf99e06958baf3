// Follows the sandbox record from where it was when the run started, for the `record-event` stop
// condition (e.g. the kill switch fired). Reads only the bytes appended since the last poll.
import * as fs from "fs";
import type { RecordEntry } from "../../components/record/chain-log";

export class RecordTail {
  private offset: number;
  private partial = "";

  constructor(private readonly file: string) {
    this.offset = fs.existsSync(file) ? fs.statSync(file).size : 0;
  }

  /** Entries appended since the last call. */
  poll(): RecordEntry[] {
    if (!fs.existsSync(this.file)) return [];
    const size = fs.statSync(this.file).size;
    if (size <= this.offset) return [];
    const fd = fs.openSync(this.file, "r");
    const buf = Buffer.alloc(size - this.offset);
    try {
      fs.readSync(fd, buf, 0, buf.length, this.offset);
    } finally {
      fs.closeSync(fd);
    }
    this.offset = size;
    const text = this.partial + buf.toString("utf8");
    const lines = text.split("\n");
    this.partial = lines.pop() ?? "";
    const out: RecordEntry[] = [];
    for (const line of lines) {
      try {
        if (line.trim()) out.push(JSON.parse(line));
      } catch {
        /* a torn line: the next poll completes it (kept in `partial` only when unterminated) */
      }
    }
    return out;
  }
}
