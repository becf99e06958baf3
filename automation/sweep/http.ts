// The real Http for the cloud inventories: Node's fetch, with a timeout so a hung endpoint fails the
// sweep with a reason instead of hanging it.
import type { Http } from "./types";

export function fetchHttp(timeoutMs = 60_000): Http {
  return async (req) => {
    const res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body, signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  };
}
