// The Airlock CrossGuard pack: `pulumi preview --policy-pack policy` (or `up`). Serves the policies
// of policies.ts. Enforcement levels per policy: Pulumi's policy config
// (`--policy-pack-config cfg.json` with e.g. `{"airlock-i6-canaries": "advisory"}`).
import { PolicyPack } from "@pulumi/policy";
import { airlockPolicies } from "./policies";

new PolicyPack("airlock", { policies: airlockPolicies(), description: "Airlock's air-gap invariants I1–I8 on any stack (the same checks as `airlock check`)." });
