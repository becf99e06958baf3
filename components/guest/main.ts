// The in-guest guard's entry point: `node main.js /etc/airlock-guard/config.json`, run by the
// airlock-guard.service unit (./install.ts). Tells systemd it is ready (Type=notify) once the
// firewall is loaded and the canaries are watched, so the workload starts only under a live guard.
import * as fs from "fs";
import { spawnSync } from "child_process";
import { GuestGuard } from "./agent";
import type { GuestGuardConfig } from "./config";
import { GUARD_CONFIG_PATH } from "./config";

async function main(): Promise<void> {
  const file = process.argv[2] ?? GUARD_CONFIG_PATH;
  const cfg = JSON.parse(fs.readFileSync(file, "utf8")) as GuestGuardConfig;
  const guard = new GuestGuard(cfg);
  await guard.start();
  if (process.env.NOTIFY_SOCKET) spawnSync("systemd-notify", ["--ready"], { stdio: "ignore" });
  process.stdout.write("airlock-guard: armed\n");
}

main().catch((e) => {
  process.stderr.write(`airlock-guard: ${(e as Error).message}\n`);
  process.exit(1);
});
