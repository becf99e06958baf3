// The engine's abort signal is scoped per call (automation/scoped-signal.ts): Pulumi's automation API
// adds an "abort" listener to the signal it is given and never removes it, so a long-lived signal
// handed to it directly gains one listener per `up` (MaxListenersExceededWarning in the 20×5 run).
import * as assert from "assert";
import { getEventListeners, setMaxListeners } from "events";
import { scopedSignal } from "../automation/scoped-signal";

/** What Pulumi's automation/cmd.js exec does with the signal it is given: listen, and never let go. */
function leakyConsumer(signal: AbortSignal): void {
  signal.addEventListener("abort", () => undefined);
}

describe("automation: the engine's abort signal is scoped per call", () => {
  it("a long-lived signal keeps no listener after 50 scoped calls through a consumer that never removes its own", () => {
    const processWide = new AbortController();
    // The positive control below adds 50 on purpose: no MaxListenersExceededWarning for it in the log.
    setMaxListeners(100, processWide.signal);
    const before = getEventListeners(processWide.signal, "abort").length;
    for (let i = 0; i < 50; i++) {
      const s = scopedSignal(undefined, processWide.signal);
      leakyConsumer(s.signal);
      s.release();
    }
    assert.strictEqual(getEventListeners(processWide.signal, "abort").length, before);
    // Positive control: handing the long-lived signal over directly is what leaked.
    for (let i = 0; i < 50; i++) leakyConsumer(processWide.signal);
    assert.strictEqual(getEventListeners(processWide.signal, "abort").length, before + 50);
  });

  it("an abort of either source reaches the call's signal with its reason, while the call runs", () => {
    for (const which of [0, 1]) {
      const sources = [new AbortController(), new AbortController()];
      const s = scopedSignal(sources[0].signal, sources[1].signal);
      assert.strictEqual(s.signal.aborted, false);
      sources[which].abort(`stop ${which}`);
      assert.strictEqual(s.signal.aborted, true);
      assert.strictEqual(s.signal.reason, `stop ${which}`);
      s.release();
    }
  });

  it("a source already aborted gives an aborted signal at once; after release a source's abort no longer reaches it", () => {
    const done = new AbortController();
    done.abort("earlier");
    const a = scopedSignal(done.signal);
    assert.strictEqual(a.signal.aborted, true);
    assert.strictEqual(a.signal.reason, "earlier");

    const live = new AbortController();
    const b = scopedSignal(live.signal);
    b.release();
    live.abort("later");
    assert.strictEqual(b.signal.aborted, false, "a finished call is not aborted by a later signal");
  });
});
