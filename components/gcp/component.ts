// GcpSandbox: the air-gapped sandbox on GCP, built from a SandboxSpec. This file only wires the parts
// together in dependency order; each part lives in the module of the same name as on AWS:
//   resources  network.ts (boundary, Private Google Access route, flow logs) · dns.ts (private
//              googleapis zone, response policy) · firewall.ts (deny-all + allows by service account) ·
//              record.ts (locked bucket, log sink) · artifacts.ts · identity.ts (service accounts) ·
//              instance.ts (the one hardened GCE shape) · gate.ts · workload.ts · targets.ts ·
//              canaries.ts · killswitch.ts (alerts, Pub/Sub → Eventarc → Workflow stop) · ttl.ts
//   pure       rules.ts (what can be built) · plan.ts (layout) · services.ts (Google APIs) ·
//              store-access.ts (startup scripts) · labels.ts (labelled types) · context.ts
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import type { SandboxComponentArgs } from "../sandbox-base";
import { VmSandboxBase, VmSandboxOpening } from "../cloud/vm-sandbox";
import type { SpecIssue } from "../spec/issues";
import { assertBuildable } from "../spec/buildable";
import { gcpRules, gcpSpecIssues, zoneOf } from "./rules";
import { makeContext } from "./context";
import { planGcpSandbox } from "./plan";
import { gcpLabelTransformation } from "./labels";
import { buildNetwork } from "./network";
import { buildDns } from "./dns";
import { createRecordStore, sinkRecord } from "./record";
import { buildArtifacts } from "./artifacts";
import { instanceIdentity } from "./identity";
import { buildFirewall } from "./firewall";
import { placeCanaries } from "./canaries";
import { buildTargets } from "./targets";
import { buildGate } from "./gate";
import { buildWorkload } from "./workload";
import { wireKillSwitch } from "./killswitch";

export const GCP_SANDBOX_TYPE = "airlock:gcp:Sandbox";

/** The last gate before anything is registered (also for a SandboxSpec built by hand). */
export function assertGcpBuildable(spec: SandboxComponentArgs["spec"], project: string | undefined): void {
  const noProject: SpecIssue[] = project ? [] : [{ path: "config.gcp:project", value: project, message: "backend 'gcp' needs the project to build in", fix: "add gcp:project: <project id> to the stack's config" }];
  assertBuildable(gcpRules, spec, { regionExample: "us-central1", specIssues: (s) => [...gcpSpecIssues(s), ...noProject] });
}

function projectFromConfig(): string | undefined {
  return new pulumi.Config("gcp").get("project");
}

/** The opening (cloud/vm-sandbox.ts): the spec and the stack's project are checked before anything is registered. */
const GCP_OPENING: VmSandboxOpening = {
  assertBuildable: (spec) => assertGcpBuildable(spec, projectFromConfig()),
  labelStyle: "gcp",
  labelTransformation: gcpLabelTransformation,
};

export class GcpSandbox extends VmSandboxBase {
  constructor(name: string, args: SandboxComponentArgs, opts?: pulumi.ComponentResourceOptions) {
    super(GCP_SANDBOX_TYPE, name, args, GCP_OPENING, opts);
    const { spec, identity } = args;
    // Every instance's terminationTime reads the kept expiry.
    const expiresAt = this.keptExpiresAt;
    const project = projectFromConfig()!;
    const region = spec.region!;
    const zone = zoneOf(region);
    // The sandbox's own provider: project, region and zone from the spec and stack, never ambient.
    const provider = new gcp.Provider(`${name}-gcp`, { project, region, zone }, { parent: this });
    const ctx = makeContext({ spec, identity, expiresAt, plan: planGcpSandbox(spec, region), project, zone, parent: this, provider });

    const net = buildNetwork(ctx);
    buildDns(ctx, net.network);
    const record = createRecordStore(ctx, net.network);
    const artifacts = buildArtifacts(ctx);
    const logBucket = record.bucket.name;
    const artifactsBucket = artifacts.bucket.name;

    const services = ctx.plan.listeners.filter((l) => l.via === "endpoint").map((l) => l.service!);
    // The workload reads the artifacts too: its guest guard is installed from them.
    const workloadId = instanceIdentity(ctx, "workload", { logBucket, artifactsBucket, services });
    const gateId = instanceIdentity(ctx, "gate", { logBucket, artifactsBucket });
    const targetIds = ctx.plan.targets.map((t) => instanceIdentity(ctx, `target-${t.name}`, {}));
    buildFirewall(ctx, net, { workload: workloadId.email, gate: gateId.email, targets: targetIds.map((t) => t.email) });

    const canaries = placeCanaries(ctx, artifacts.bucket);
    const targets = buildTargets(ctx, { net, identities: targetIds });
    const gate = buildGate(ctx, { net, identity: gateId, artifactsBucket, logBucket, dependsOn: [...artifacts.objects] });
    const workload = buildWorkload(ctx, { net, identity: workloadId, logBucket, artifactsBucket, homeFiles: canaries.homeFiles, expiresAt, dependsOn: [gate, ...artifacts.objects] });

    const instances = [workload, gate, ...targets];
    sinkRecord(ctx, record, {
      network: net.network,
      subnets: Object.values(net.subnets),
      resourceNames: [...instances.map((i) => pulumi.interpolate`instances/${i.name}`), pulumi.interpolate`buckets/${artifactsBucket}`, pulumi.interpolate`buckets/${logBucket}`],
    });
    wireKillSwitch(ctx, { canaries, artifactsBucket: artifacts.bucket, workload });

    this.publishOutputs({
      sandboxId: pulumi.output(identity.id),
      expiresAt,
      recordLocation: pulumi.interpolate`gs://${logBucket}/`,
      gateEndpoints: pulumi.output(Object.fromEntries(ctx.plan.listeners.filter((l) => l.via !== "record").map((l) => [l.name, `${ctx.plan.gateIp}:${l.listenPort}`]))),
    });
  }
}
