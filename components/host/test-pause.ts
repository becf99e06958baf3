// A pause point for tests: with AIRLOCK_TEST_PAUSE_AT=<point> in its environment, a process stops
// itself (SIGSTOP) when it reaches that point, so that a test can act inside a window that is
// otherwise milliseconds wide (e.g. a sweep between a sandbox's network namespace and its anchor),
// then let it go on with SIGCONT — or SIGKILL it there. It changes nothing else: a stopped process
// is what `kill -STOP` at the same moment would make, only without the race. Unset, it costs one
// environment lookup.
export function pausePoint(point: string): void {
  if (process.env.AIRLOCK_TEST_PAUSE_AT === point) process.kill(process.pid, "SIGSTOP");
}
