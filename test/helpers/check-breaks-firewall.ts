// Loaded into an `airlock check` subprocess (NODE_OPTIONS=--require) to give it a component with a
// real wiring bug: besides its normal rules, the workload's security group gets an allow-all egress
// rule to 0.0.0.0/0. This is the class of mistake `check` exists to catch; test/check.test.ts uses it
// to exercise the failure path (exit 1, FAIL lines) end to end. Nothing else is changed.
import * as aws from "@pulumi/aws";
import * as firewall from "../../components/aws/firewall";

const original = firewall.addFirewallRules;
(firewall as { addFirewallRules: typeof original }).addFirewallRules = (ctx, fw, s3PrefixListId) => {
  original(ctx, fw, s3PrefixListId);
  new aws.vpc.SecurityGroupEgressRule(ctx.name("injected-open-egress"), { securityGroupId: fw.workload.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "test: a wiring bug" }, ctx.opts());
};
