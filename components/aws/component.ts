// AwsSandbox: the air-gapped sandbox on AWS, built from a SandboxSpec. This file only wires the parts
// together in dependency order; each part lives in its own module:
//   resources  network.ts (boundary) · dns.ts (resolver allowlist) · firewall.ts (who talks to whom) ·
//              endpoints.ts (private service paths) · record.ts (immutable log store, flow logs) ·
//              artifacts.ts (what instances install) · images.ts (AMIs, checked first) · identity.ts (roles) · instance.ts (the one
//              hardened EC2 shape) · gate.ts · workload.ts · targets.ts · canaries.ts (bait planted) ·
//              killswitch.ts (detection, alert, stop) ·
//              shared-trail.ts (the account trail, adopted) · ttl.ts (platform expiry) · tags.ts (labels)
//   pure       rules.ts + buildable.ts (what can be built) · plan.ts (layout) · services.ts (endpoint
//              services) · store-access.ts + shell.ts (first-boot scripts) · bait.ts (canary contents) ·
//              policies.ts (policy documents) · taggable.ts · context.ts · facts.ts (invariant facts) ·
//              mocks.ts (mock provider answers) · descriptor.ts (what the backend list knows of AWS)
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { SandboxComponentArgs } from "../sandbox-base";
import { VmSandboxBase, VmSandboxOpening } from "../cloud/vm-sandbox";
import { assertAwsBuildable } from "./buildable";
import { makeContext } from "./context";
import { planSandbox } from "./plan";
import { partitionOf } from "./services";
import { labelTransformation } from "./tags";
import { buildNetwork } from "./network";
import { buildDnsGuard } from "./dns";
import { addFirewallRules, createSecurityGroups } from "./firewall";
import { buildEndpoints } from "./endpoints";
import { createRecordStore, sealRecordStore } from "./record";
import { buildArtifacts } from "./artifacts";
import { instanceIdentity } from "./identity";
import { buildGate } from "./gate";
import { buildWorkload } from "./workload";
import { buildTargets } from "./targets";
import { placeCanaries } from "./canaries";
import { wireAlarms } from "./killswitch";
import { scheduleTermination } from "./ttl";
import { resolveImages } from "./images";
import { adoptSharedTrail, trailRegionOf } from "./shared-trail";
import { canaryStoreNamePrefix } from "./artifacts";

export const AWS_SANDBOX_TYPE = "airlock:aws:Sandbox";

/** The opening (cloud/vm-sandbox.ts): the spec is checked against the stack's region before anything is registered. */
const AWS_OPENING: VmSandboxOpening = {
  assertBuildable: (spec) => assertAwsBuildable(spec, new pulumi.Config("aws").get("region")),
  labelStyle: "tags",
  labelTransformation,
};

export class AwsSandbox extends VmSandboxBase {
  constructor(name: string, args: SandboxComponentArgs, opts?: pulumi.ComponentResourceOptions) {
    super(AWS_SANDBOX_TYPE, name, args, AWS_OPENING, opts);
    const { spec, identity } = args;
    const expiresAt = this.keptExpiresAt;
    const region = spec.region!;
    // Images are looked up through a provider of their own, and the sandbox's provider is configured
    // only once every image resolved and passed its checks (images.ts): an image that cannot boot
    // stops the deploy — at preview — before anything (the retained record bucket first) is created.
    const lookup = new aws.Provider(`${name}-aws-lookup`, { region: region as aws.Region }, { parent: this });
    const images = resolveImages(spec, { parent: this, provider: lookup });
    // The account's shared trail (shared-trail.ts) is checked the same way: a sandbox whose canaries no
    // trail would deliver is refused at preview, before anything is created.
    const partition = partitionOf(region);
    const trailRegion = trailRegionOf(region);
    const trailLookup = trailRegion === region ? lookup : new aws.Provider(`${name}-aws-trail-lookup`, { region: trailRegion as aws.Region }, { parent: this });
    const shared = spec.canaries.enabled ? adoptSharedTrail(name, { trailRegion, partition, storeNamePrefix: canaryStoreNamePrefix(identity) }, { parent: this, provider: trailLookup }) : undefined;
    const ready = pulumi.all([images, shared?.arn]);
    // The sandbox's own provider: the region comes from the spec, never from ambient configuration.
    const provider = new aws.Provider(`${name}-aws`, { region: ready.apply(() => region as aws.Region) }, { parent: this });
    const ctx = makeContext({ spec, identity, plan: planSandbox(spec, region), partition, parent: this, provider, images });

    const record = createRecordStore(ctx);
    const artifacts = buildArtifacts(ctx);
    const logBucket = record.bucket.bucket;
    const artifactsBucket = artifacts.bucket.bucket;

    const workloadId = instanceIdentity(ctx, "workload", { artifactsBucket, logBucket, endpointServices: ctx.plan.endpointServices });
    const gateId = instanceIdentity(ctx, "gate", { artifactsBucket, logBucket });

    const net = buildNetwork(ctx);
    buildDnsGuard(ctx, net.vpc, [artifactsBucket, logBucket]);
    const fw = createSecurityGroups(ctx, net.vpc);
    const endpoints = buildEndpoints(ctx, net, fw, { artifactsBucket, logBucket, s3RoleArns: [workloadId.role.arn, gateId.role.arn], workloadRoleArn: workloadId.role.arn });
    addFirewallRules(ctx, fw, endpoints.s3.prefixListId);

    const canaries = placeCanaries(ctx, artifacts.bucket);
    const recordPolicy = sealRecordStore(ctx, record, { vpc: net.vpc, s3EndpointId: endpoints.s3.id });

    const targets = buildTargets(ctx, { net, fw, logBucket });
    const gate = buildGate(ctx, { net, fw, identity: gateId, artifactsBucket, logBucket, dependsOn: [...artifacts.objects, endpoints.s3, ...Object.values(endpoints.interfaces)] });
    const workload = buildWorkload(ctx, { net, fw, s3Ranges: endpoints.s3.cidrBlocks, identity: workloadId, logBucket, artifactsBucket, homeFiles: canaries.homeFiles, expiresAt, dependsOn: [gate, endpoints.s3, recordPolicy, ...artifacts.objects] });

    if (shared) wireAlarms(ctx, { canaries, artifactsBucket: artifacts.bucket, workload, workloadRoleArn: workloadId.role.arn, s3EndpointId: endpoints.s3.id });
    scheduleTermination(ctx, [workload, gate, ...targets], expiresAt);

    this.publishOutputs({
      sandboxId: pulumi.output(identity.id),
      expiresAt,
      recordLocation: pulumi.interpolate`s3://${logBucket}/`,
      gateEndpoints: pulumi.output(Object.fromEntries(ctx.plan.listeners.map((l) => [l.name, `${ctx.plan.gateIp}:${l.listenPort}`]))),
    });
  }
}
