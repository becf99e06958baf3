// One AbortSignal per engine call, relayed from longer-lived ones (the caller's signal, the process's
// SIGINT/SIGTERM signal). Pulumi's automation API adds an "abort" listener to the signal it is given
// and never removes it (@pulumi/pulumi automation/cmd.js exec), so handing it the process-wide signal
// leaks a listener — and a closure over a finished child process — per `up`: after 10 the process warns
// MaxListenersExceededWarning, and every later abort runs all of them. A scoped signal takes those
// listeners with it; release() unlinks it from its sources once the call is over.
export interface ScopedSignal {
  signal: AbortSignal;
  release(): void;
}

export function scopedSignal(...sources: (AbortSignal | undefined)[]): ScopedSignal {
  const scope = new AbortController();
  const links: [AbortSignal, () => void][] = [];
  for (const source of sources) {
    if (!source) continue;
    if (source.aborted) {
      scope.abort(source.reason);
      break;
    }
    const relay = () => scope.abort(source.reason);
    source.addEventListener("abort", relay, { once: true });
    links.push([source, relay]);
  }
  return {
    signal: scope.signal,
    release() {
      for (const [source, relay] of links.splice(0)) source.removeEventListener("abort", relay);
    },
  };
}
