// Issue 8 defect 7, for every cloud backend: every name Airlock generates fits its provider's limit
// when the sandbox's and a target's names are at the spec's maximum (24 characters, NAME_RE). The
// AWS half (IAM name prefixes, bucket prefixes) is in aws-deploy.test.ts; this file holds GCP, Azure
// and Kubernetes. Limits, from each provider's naming rules:
//   GCP      Compute Engine resources (instance, firewall, network, subnetwork, route), Cloud DNS managed
//            zones, Eventarc triggers: 1–63, RFC 1035 ([a-z]([-a-z0-9]*[a-z0-9])?); service-account ids
//            6–30 of the same alphabet; bucket names 3–63; Workflows 1–64 starting with a letter.
//   Azure    "Naming rules and restrictions for Azure resources": storage account 3–24 lowercase
//            letters and digits; blob container 3–63 lowercase, digits, hyphens; Linux VM 1–64; NSG 1–80;
//            virtual network 2–64; resource group 1–90; Logic App workflow 1–43.
//   Kubernetes  "Object Names and IDs": Namespace and Service are DNS labels (≤ 63, RFC 1123 / 1035);
//            everything else a DNS subdomain (≤ 253); and a pod's name is its hostname, so ≤ 63 here.
import * as assert from "assert";
import { buildVariant } from "./helpers/pulumi-mocks";

const LONG_TARGET = "t" + "x".repeat(22) + "1";
const LONG_SANDBOX = "n" + "y".repeat(22) + "2";
const RFC1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

interface Limit {
  type: string;
  /** The input holding the name (metadata.name for Kubernetes objects). */
  field: string;
  min?: number;
  max: number;
  pattern?: RegExp;
}

const LIMITS: Record<string, Limit[]> = {
  gcp: [
    ...["compute/instance:Instance", "compute/firewall:Firewall", "compute/network:Network", "compute/subnetwork:Subnetwork", "compute/route:Route", "dns/managedZone:ManagedZone", "eventarc/trigger:Trigger"].map(
      (t): Limit => ({ type: `gcp:${t}`, field: "name", max: 63, pattern: RFC1035 }),
    ),
    { type: "gcp:serviceaccount/account:Account", field: "accountId", min: 6, max: 30, pattern: RFC1035 },
    { type: "gcp:storage/bucket:Bucket", field: "name", min: 3, max: 63, pattern: /^[a-z0-9][-_a-z0-9]*[a-z0-9]$/ },
    { type: "gcp:workflows/workflow:Workflow", field: "name", max: 64, pattern: /^[A-Za-z][-_A-Za-z0-9]*$/ },
  ],
  azure: [
    { type: "azure-native:storage:StorageAccount", field: "accountName", min: 3, max: 24, pattern: /^[a-z0-9]+$/ },
    { type: "azure-native:storage:BlobContainer", field: "containerName", min: 3, max: 63, pattern: /^[a-z0-9](-?[a-z0-9])*$/ },
    { type: "azure-native:compute:VirtualMachine", field: "vmName", max: 64 },
    { type: "azure-native:network:NetworkSecurityGroup", field: "networkSecurityGroupName", max: 80 },
    { type: "azure-native:network:VirtualNetwork", field: "virtualNetworkName", min: 2, max: 64 },
    { type: "azure-native:resources:ResourceGroup", field: "resourceGroupName", max: 90 },
    { type: "azure-native:logic:Workflow", field: "workflowName", max: 43 },
  ],
  k8s: [
    { type: "kubernetes:core/v1:Namespace", field: "metadata.name", max: 63, pattern: RFC1123_LABEL },
    { type: "kubernetes:core/v1:Service", field: "metadata.name", max: 63, pattern: RFC1035 },
    { type: "kubernetes:core/v1:Pod", field: "metadata.name", max: 63, pattern: RFC1123_LABEL },
    ...["networking.k8s.io/v1:NetworkPolicy", "core/v1:ServiceAccount", "core/v1:Secret", "core/v1:ConfigMap", "core/v1:ResourceQuota", "core/v1:LimitRange", "rbac.authorization.k8s.io/v1:Role", "rbac.authorization.k8s.io/v1:RoleBinding"].map(
      (t): Limit => ({ type: `kubernetes:${t}`, field: "metadata.name", max: 253, pattern: /^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/ }),
    ),
  ],
};

// A fleet suffixes each sandbox's names with its index: the same limits, with the longest suffixes.
LIMITS["k8s-fleet"] = LIMITS.k8s;

const read = (inputs: any, field: string) => field.split(".").reduce((v, k) => v?.[k], inputs);

describe("generated names fit every provider's limit at the spec's maximum name lengths (issue 8 defect 7)", function () {
  this.timeout(120_000);
  for (const [stack, limits] of Object.entries(LIMITS)) {
    it(`${stack}: a ${LONG_SANDBOX.length}-character sandbox and target name give names within the limits, still unique`, async () => {
      const g = await buildVariant(stack, (d) => {
        d.name = LONG_SANDBOX;
        for (const t of d.targets ?? []) {
          for (const e of d.egress.allow) if (e.target === t.name) e.target = LONG_TARGET;
          t.name = LONG_TARGET;
        }
      });
      const checked: string[] = [];
      for (const limit of limits) {
        const nodes = g.graph.resources.filter((n) => n.type === limit.type && typeof read(n.inputs, limit.field) === "string");
        const names: string[] = nodes.map((n) => read(n.inputs, limit.field));
        assert.ok(names.length > 0, `positive control: the ${stack} graph has a ${limit.type} with ${limit.field}`);
        for (const name of names) {
          assert.ok(name.length <= limit.max && name.length >= (limit.min ?? 1), `${limit.type} ${limit.field} '${name}' is ${name.length} characters (limit ${limit.min ?? 1}–${limit.max})`);
          if (limit.pattern) assert.match(name, limit.pattern, `${limit.type} ${limit.field} '${name}'`);
        }
        // Names of one type share a scope (the project, the resource group, a Kubernetes namespace):
        // bounding must not merge two.
        const scoped = nodes.map((n) => `${read(n.inputs, "metadata.namespace") ?? ""}/${read(n.inputs, limit.field)}`);
        if (!limit.field.endsWith("resourceGroupName")) assert.strictEqual(new Set(scoped).size, scoped.length, `${limit.type}: ${scoped.join(", ")}`);
        checked.push(...names);
      }
      // Positive control: the long names reach the generated ones (else the bound was never exercised).
      assert.ok(checked.some((n) => n.includes("txxxx") || n.includes("nyyyy")), `no generated name carries the long names: ${checked.join(", ")}`);
    });
  }
});
