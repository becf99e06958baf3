// The documents the fuzz tests mutate: the shipped examples and stacks, plus one experiment with every
// schedule kind (repeat every/cron, random, ramps) and one spec with tags, so that every expansion and
// every tag rule is one mutation away.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

const ROOT = path.join(__dirname, "..", "..");
const yaml = (rel: string) => YAML.parse(fs.readFileSync(path.join(ROOT, rel), "utf8"));

export const EXPERIMENT_SEEDS: unknown[] = [
  yaml("examples/chaos-latency-ramp.yaml"),
  yaml("examples/chaos-lossy-link.yaml"),
  yaml("examples/chaos-starvation.yaml"),
  yaml("examples/quickstart-latency.yaml"),
  {
    name: "schedules",
    maxDuration: "2h",
    baseline: "1s",
    recovery: "1s",
    actions: [
      { fault: "pids", duration: "1m", params: { max: 50 }, repeat: { every: "4m", until: "1h" } },
      { fault: "cpu", duration: "10s", params: { quota: "50%" }, repeat: { cron: "*/30 * * * * *", until: "30m" } },
      { fault: "bandwidth", upstream: "api", duration: "20s", params: { rate: "8KiB/s" }, random: { count: 5, from: "30s", to: "10m" } },
      { fault: "latency", upstream: "api", duration: "3m", ramp: { steps: 10, over: "2m", from: { latency: "50ms" }, to: { latency: "500ms" } } },
      { fault: "memory-max", duration: "10s", params: { limit: "64MiB" }, ramp: { steps: 3, from: { limit: "256MiB" }, to: { limit: "8MiB" } } },
    ],
  },
];

export const SPEC_SEEDS: unknown[] = [
  yaml("examples/quickstart.yaml"),
  yaml("examples/quickstart-canary.yaml"),
  ...["aws", "aws-tee", "local"].map((s) => yaml(`stacks/Pulumi.${s}.yaml`).config["airlock:sandbox"]),
  { name: "tagged", backend: "gcp", region: "europe-west4", owner: "bob@lab.org", ttl: "23h", tags: { team: "evals", "cost-center": "42" }, workload: { command: ["/bin/true"] }, unsafe: { allowLongTtl: false } },
];

