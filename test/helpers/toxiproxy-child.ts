// A test process that starts a Toxiproxy server and then waits to be killed, for
// test/toxiproxy-dies-with-test.test.ts. argv[2] "tied": through chaos-fixtures' startGate, the way
// the chaos tests start theirs; "untied": startToxiproxyServer as startGate called it before the tie
// (the positive control). Prints "SERVER <pid> <admin url>" once the server answers.
import * as path from "path";
import { startToxiproxyServer } from "../../components/host/toxiproxy";
import { statePath } from "../../components/host/state";
import { startGate } from "./chaos-fixtures";

async function main(): Promise<void> {
  const server =
    process.argv[2] === "tied"
      ? (await startGate({})).server
      : await startToxiproxyServer({ logFile: path.join(statePath("logs"), `toxiproxy-${process.pid}.log`) });
  process.stdout.write(`SERVER ${server.process.pid} ${server.url}\n`);
  setInterval(() => undefined, 60_000); // alive until killed
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
