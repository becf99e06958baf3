// The chaos watchdog process: a separate, detached process started with every experiment, so that the
// maximum duration holds even if the runner is SIGKILLed or hangs.
//
//   journal closed            -> the run ended cleanly: exit.
//   runner gone, journal open -> the runner died (SIGKILL, crash): recover now.
//   deadline passed           -> recoverJournals() terminates the overdue runner, then undoes.
//
// Plain JavaScript on purpose: it waits for minutes with nothing loaded but `fs` (about the memory of
// a bare node, started in tens of ms). Only when it must act does it load ts-node and the
// TypeScript undo handlers. It mirrors two small things from components/host (reading a process's
// start time, reading a journal's state) because loading those modules would load TypeScript.
"use strict";
const fs = require("fs");
const path = require("path");

const opts = JSON.parse(process.argv[2]);
const { owner, journalFile, deadline, runner } = opts;
const pollMs = opts.pollMs || 250;
const log = (msg) => process.stdout.write(`${new Date().toISOString()} watchdog ${owner} (pid ${process.pid}): ${msg}\n`);

/** Same as components/host/process.ts isAlive: pid + start time, zombies count as gone. */
function isAlive(ref) {
  try {
    const stat = fs.readFileSync(`/proc/${ref.pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[19]) === ref.startTime && fields[0] !== "Z";
  } catch {
    return false;
  }
}

let lastSize = -1;
let closed = false;
/** The journal is closed when its last line is {"t":"closed"}; a missing journal has nothing to guard. */
function journalClosed() {
  let size;
  try {
    size = fs.statSync(journalFile).size;
  } catch {
    return true;
  }
  if (size === lastSize) return closed;
  lastSize = size;
  const fd = fs.openSync(journalFile, "r");
  try {
    const len = Math.min(size, 512);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString("utf8").trim().split("\n");
    closed = /"t":"closed"/.test(lines[lines.length - 1] || "");
  } finally {
    fs.closeSync(fd);
  }
  return closed;
}

async function enforce(reason) {
  log(`${reason}: undoing what the journal holds`);
  require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
  require("./undo-kinds.ts");
  const { recoverJournals } = require("../components/host/journal.ts");
  const results = await recoverJournals({ owner });
  for (const r of results) {
    log(`${r.action}${r.runnerTerminated ? " (runner terminated)" : ""}: ${r.outcomes.length} step(s)`);
    for (const o of r.outcomes) log(`  ${o.ok ? "undone" : "FAILED"} ${o.step.label}${o.error ? `: ${o.error}` : ""} (${o.ms} ms)`);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  // A stray SIGTERM/SIGINT/SIGHUP must not remove the guard while faults may be applied.
  for (const s of ["SIGTERM", "SIGINT", "SIGHUP"])
    process.on(s, () => {
      if (journalClosed()) {
        log(`${s}: the journal is closed; exiting`);
        process.exit(0);
      }
      log(`${s} ignored: the journal is still open`);
    });
  log(`guarding ${journalFile} until ${new Date(deadline).toISOString()} (runner pid ${runner.pid})`);
  let attempts = 0;
  while (!journalClosed()) {
    const dead = !isAlive(runner);
    if (dead || Date.now() >= deadline) {
      attempts++;
      try {
        await enforce(dead ? "the runner is gone" : "the deadline passed");
      } catch (e) {
        log(`recovery failed: ${e && e.message}`);
      }
      if (journalClosed()) break;
      if (attempts >= 20) {
        log("giving up after 20 attempts; `airlock recover` will finish the job");
        process.exitCode = 1;
        return;
      }
      await sleep(Math.min(5000, 250 * 2 ** attempts));
      continue;
    }
    await sleep(pollMs);
  }
  log("journal closed; exiting");
}

main().catch((e) => {
  log(`crashed: ${e && e.stack}`);
  process.exitCode = 1;
});
