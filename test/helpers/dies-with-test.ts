// A server a test starts (Toxiproxy in test/helpers/chaos-fixtures.ts) must die with the test process
// even when that is SIGKILLed — an OOM kill, a CI timeout, `kill -9` of mocha — when no after-hook
// runs: otherwise it outlives the run on loopback, holding its ports, and every later run on the host
// sees an Airlock-looking process it did not make.
//
// The tie is the kernel's parent-death signal: `setpriv --pdeathsig KILL` (util-linux) sets
// PR_SET_PDEATHSIG to SIGKILL and execs the server, which keeps the setting across execve (it is
// cleared only by fork and by a set-user-ID or capability-gaining exec; toxiproxy-server is neither).
// The signal fires when the thread that spawned it exits: Node spawns from its main thread, which
// lives as long as the process. (The one window it cannot cover: the test process killed between
// the fork and setpriv's prctl, a few microseconds while libuv waits for the exec to complete.)
//
// startToxiproxyServer's `confine` launcher runs the server with an environment of its own (PATH and
// LOG_LEVEL only); `env` puts back the run's AIRLOCK_STATE_DIR and AIRLOCK_TEST_RUN, by which the
// suite's leftover check (run-scope.ts) knows the server as this run's.

/** What startToxiproxyServer's `confine` option takes: the server's argv, run tied to this process. */
export function diesWithThisProcess(serverArgv: string[]): { file: string; args: string[] } {
  const scope = ["AIRLOCK_STATE_DIR", "AIRLOCK_TEST_RUN"].filter((k) => process.env[k] !== undefined).map((k) => `${k}=${process.env[k]}`);
  return { file: "setpriv", args: ["--pdeathsig", "KILL", "--", "env", ...scope, ...serverArgv] };
}
