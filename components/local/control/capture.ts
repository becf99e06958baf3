// Bounded capture of a process's output: keeps the last `limit` bytes and counts what it dropped, so
// that a command printing without end costs a fixed amount of memory in the owner (the record has its
// own cap, see record.ts), and the caller still sees how the output ended and how much it missed.
import { Writable } from "stream";

export class TailBuffer {
  private chunks: Buffer[] = [];
  private kept = 0;
  /** Bytes dropped from the head. */
  dropped = 0;

  constructor(private readonly limit: number) {}

  write(b: Buffer): void {
    if (b.length >= this.limit) {
      this.dropped += this.kept + b.length - this.limit;
      this.chunks = this.limit > 0 ? [b.subarray(b.length - this.limit)] : [];
      this.kept = this.limit;
      return;
    }
    this.chunks.push(b);
    this.kept += b.length;
    while (this.kept > this.limit) {
      const first = this.chunks[0];
      const excess = this.kept - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.kept -= first.length;
        this.dropped += first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.kept -= excess;
        this.dropped += excess;
      }
    }
  }

  bytes(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
  }

  /** A Writable feeding this buffer (for startConfined's `tee`). */
  sink(): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        this.write(chunk);
        cb();
      },
    });
  }
}

/** Collects up to `limit` bytes; `over` turns true (and the rest is ignored) past it. */
export class HeadBuffer {
  private chunks: Buffer[] = [];
  size = 0;
  over = false;

  constructor(private readonly limit: number) {}

  write(b: Buffer): void {
    if (this.over) return;
    if (this.size + b.length > this.limit) {
      this.over = true;
      return;
    }
    this.chunks.push(b);
    this.size += b.length;
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
