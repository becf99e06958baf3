// The egress gate: a small instance running Toxiproxy with one listener per allowed upstream. It is
// at once the allowlist (nothing else has a route or a security-group rule) and the chaos injection
// point. Its admin API listens on loopback only.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { AwsContext } from "./context";
import type { Network } from "./network";
import type { Firewall } from "./firewall";
import type { InstanceIdentity } from "./identity";
import { hardenedInstance } from "./instance";
import { renderGateScript, TOXIPROXY_ADMIN_PORT } from "../cloud/boot";
import { awsStoreAccess } from "./store-access";
import { ARTIFACT_FILES } from "../cloud/artifacts";
import { toxiproxyProxies } from "../cloud/gate";
import type { VmInstanceArgs } from "../cloud/vm-args";
import { GATE_INSTANCE_TYPE } from "./plan";

export interface GateArgs extends VmInstanceArgs<Network, InstanceIdentity> {
  fw: Firewall;
}

export function buildGate(ctx: AwsContext, a: GateArgs): aws.ec2.Instance {
  const userData = pulumi.all([a.artifactsBucket, a.logBucket]).apply(([artifactsBucket, logBucket]) =>
    renderGateScript(awsStoreAccess({ region: ctx.region, logBucket, logPrefix: a.identity.logPrefix, artifactsBucket }), {
      ttlSeconds: ctx.spec.ttlMs / 1000,
      toxiproxyKey: ARTIFACT_FILES.toxiproxy.key,
      proxies: toxiproxyProxies(ctx.plan.listeners),
      adminPort: TOXIPROXY_ADMIN_PORT,
    }),
  );
  return hardenedInstance(ctx, "gate", {
    role: "gate",
    ami: ctx.images.gate,
    amiIsLookup: true,
    instanceType: GATE_INSTANCE_TYPE,
    subnet: a.net.subnets.gate,
    privateIp: ctx.plan.gateIp,
    securityGroup: a.fw.gate,
    identity: a.identity,
    userData,
    // The gate needs a public address only to reach public upstreams (unsafe.allowInternet).
    publicIp: ctx.spec.unsafe.allowInternet && ctx.plan.publicAddresses.length > 0,
    dependsOn: a.dependsOn,
  });
}
