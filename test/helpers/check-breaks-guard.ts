// Loaded into an `airlock check` subprocess (NODE_OPTIONS=--require) to give the VM backends a
// component whose workload guard is mis-wired, as AIRLOCK_TEST_GUARD_BREAK says:
//   missing-rule   the guard's config lacks the pids-limit kill rule (cloud/guard.ts drops it);
//   not-installed  the first-boot script installs no guard (guest/install.ts renders nothing).
// test/check.test.ts uses it to show `check` fails (exit 1, a FAIL line for I9) on either.
import * as guard from "../../components/cloud/guard";
import * as install from "../../components/guest/install";

const mode = process.env.AIRLOCK_TEST_GUARD_BREAK;
if (mode === "missing-rule") {
  const original = guard.vmGuardConfig;
  (guard as { vmGuardConfig: typeof original }).vmGuardConfig = (spec, parts) => {
    const c = original(spec, parts);
    return { ...c, rules: c.rules.filter((r) => r.on !== "pids-limit") };
  };
} else if (mode === "not-installed") {
  (install as { renderGuestGuardInstall: typeof install.renderGuestGuardInstall }).renderGuestGuardInstall = () => "true";
} else throw new Error(`AIRLOCK_TEST_GUARD_BREAK: '${mode}'; use missing-rule or not-installed`);
