// A client of the control protocol (protocol.ts) over a Unix socket or a child's stdio, with request
// ids and any number of requests in flight. Used by `airlock serve --cleanup`, the tests and the
// benchmark; the Inspect provider has its own (Python) copy of the same few lines.
import * as net from "net";
import type { Readable, Writable } from "stream";
import { ErrorBody, LineSplitter, Request, Response } from "./protocol";

/** An error response, as an exception: `kind` says what went wrong (see protocol.ts). */
export class ControlRequestError extends Error {
  readonly kind: string;
  constructor(public readonly body: ErrorBody) {
    super(body.message);
    this.kind = body.kind;
    this.name = "ControlRequestError";
  }
}

type Pending = { resolve: (v: any) => void; reject: (e: Error) => void };
export type RequestBody = Request extends infer R ? (R extends { id: unknown } ? Omit<R, "id"> : never) : never;

export class ControlClient {
  private next = 1;
  private readonly pending = new Map<string | number, Pending>();
  private closed: Error | undefined;

  constructor(
    input: Readable,
    private readonly output: Writable,
    private readonly onClose?: () => void,
  ) {
    const splitter = new LineSplitter(
      (line) => this.dispatch(JSON.parse(line.toString("utf8")) as Response),
      () => this.fail(new Error("control server sent a line that is too long")),
    );
    input.on("data", (d: Buffer) => splitter.push(d));
    input.on("close", () => this.fail(new Error("the control connection closed")));
    input.on("error", (e) => this.fail(e));
  }

  static connect(socket: string): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(socket);
      s.once("connect", () => {
        s.off("error", reject);
        resolve(new ControlClient(s, s, () => s.destroy()));
      });
      s.once("error", reject);
    });
  }

  private dispatch(r: Response): void {
    const p = r.id === null ? undefined : this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id!);
    if (r.ok) p.resolve(r.result);
    else p.reject(new ControlRequestError(r.error));
  }

  private fail(e: Error): void {
    if (this.closed) return;
    this.closed = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  request<T = any>(body: RequestBody): Promise<T> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.output.write(JSON.stringify({ ...body, id }) + "\n");
    });
  }

  close(): void {
    this.onClose?.();
  }
}
