// Mock provider answers for @pulumi/gcp: ids, names and the computed outputs the GcpSandbox and its
// facts read (self links, service-account emails, sink writer identities, a key file), shaped like
// the provider's (projects/<p>/global/networks/<n>, ...). Deterministic: a hash of type + name.
import * as pulumi from "@pulumi/pulumi";
import { shortHash } from "../naming";
import type { CloudMocks } from "../invariants/mock-types";

/** The project the mocks place resources in when the inputs name none: the stack's `gcp:project`. */
export const MOCK_PROJECT = "airlock-check";

function stackProject(): string {
  return pulumi.runtime.getConfig("gcp:project") ?? MOCK_PROJECT;
}

/** The provider id of a type, by its name (what the real provider returns as `id`). */
const ID_OF: Record<string, (p: string, region: string, zone: string, name: string) => string> = {
  "gcp:compute/network:Network": (p, _r, _z, n) => `projects/${p}/global/networks/${n}`,
  "gcp:compute/subnetwork:Subnetwork": (p, r, _z, n) => `projects/${p}/regions/${r}/subnetworks/${n}`,
  "gcp:compute/firewall:Firewall": (p, _r, _z, n) => `projects/${p}/global/firewalls/${n}`,
  "gcp:compute/route:Route": (p, _r, _z, n) => `projects/${p}/global/routes/${n}`,
  "gcp:compute/instance:Instance": (p, _r, z, n) => `projects/${p}/zones/${z}/instances/${n}`,
  "gcp:dns/managedZone:ManagedZone": (p, _r, _z, n) => `projects/${p}/managedZones/${n}`,
  "gcp:dns/responsePolicy:ResponsePolicy": (p, _r, _z, n) => `projects/${p}/responsePolicies/${n}`,
  "gcp:pubsub/topic:Topic": (p, _r, _z, n) => `projects/${p}/topics/${n}`,
  "gcp:workflows/workflow:Workflow": (p, r, _z, n) => `projects/${p}/locations/${r}/workflows/${n}`,
  "gcp:logging/projectSink:ProjectSink": (p, _r, _z, n) => `projects/${p}/sinks/${n}`,
  "gcp:storage/bucket:Bucket": (_p, _r, _z, n) => n,
};

export const gcpMocks: CloudMocks = {
  handles: (type) => type.startsWith("gcp:") || type === "pulumi:providers:gcp",

  newResource(type, logicalName, inputs, ctx) {
    if (type === "pulumi:providers:gcp") return { id: `${logicalName}-provider`, state: inputs };
    const project = inputs.project ?? stackProject();
    const region = inputs.region ?? inputs.location ?? ctx.region;
    const zone = inputs.zone ?? `${ctx.region}-a`;
    const name = inputs.name ?? inputs.responsePolicyName ?? `${logicalName}-${shortHash(logicalName, 7)}`;
    const state: Record<string, any> = { ...inputs, name, project };
    let id = ID_OF[type]?.(project, region, zone, name) ?? `${logicalName}-id`;
    switch (type) {
      case "gcp:serviceaccount/account:Account": {
        state.email = `${inputs.accountId}@${project}.iam.gserviceaccount.com`;
        state.name = `projects/${project}/serviceAccounts/${state.email}`;
        state.member = `serviceAccount:${state.email}`;
        id = state.name;
        break;
      }
      case "gcp:serviceaccount/key:Key": {
        const email = String(inputs.serviceAccountId ?? "").split("/").pop();
        const file = { type: "service_account", project_id: project, private_key_id: shortHash(logicalName, 40), private_key: "-----BEGIN PRIVATE KEY-----\nMOCK\n-----END PRIVATE KEY-----\n", client_email: email };
        state.privateKey = Buffer.from(JSON.stringify(file)).toString("base64");
        id = `${inputs.serviceAccountId}/keys/${shortHash(logicalName, 40)}`;
        break;
      }
      case "gcp:storage/bucket:Bucket":
        state.url = `gs://${name}`;
        state.selfLink = `https://www.googleapis.com/storage/v1/b/${name}`;
        break;
      case "gcp:logging/projectSink:ProjectSink":
        state.writerIdentity = `serviceAccount:service-${shortHash(logicalName, 12)}@gcp-sa-logging.iam.gserviceaccount.com`;
        break;
      case "gcp:projects/iAMCustomRole:IAMCustomRole":
        state.name = `projects/${project}/roles/${inputs.roleId}`;
        id = state.name;
        break;
      case "gcp:compute/instance:Instance":
        state.networkInterfaces = (inputs.networkInterfaces ?? []).map((ni: any, i: number) => ({ ...ni, networkIp: ni.networkIp ?? `10.255.${i}.${parseInt(shortHash(logicalName, 2), 16)}` }));
        break;
    }
    if (ID_OF[type] && type !== "gcp:storage/bucket:Bucket") state.selfLink = `https://www.googleapis.com/compute/v1/${id}`;
    state.id = id;
    return { id, state };
  },

  call() {
    return undefined;
  },
};
