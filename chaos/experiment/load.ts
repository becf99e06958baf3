// Reading an experiment file: YAML -> document -> validated Experiment + Plan, or an ExperimentError
// that lists every problem (path, value, message, fix).
import * as fs from "fs";
import * as YAML from "yaml";
import { ExperimentError } from "./issues";
import { validateExperiment, ValidationContext } from "./validate";
import type { Experiment } from "./schema";
import type { Plan } from "../schedule/plan";

export function readExperimentDocument(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e: any) {
    throw new ExperimentError([{ path: "(file)", value: file, message: `cannot read: ${e.code ?? e.message}`, fix: "pass the path of an experiment YAML file" }], file);
  }
  try {
    return YAML.parse(text);
  } catch (e: any) {
    throw new ExperimentError([{ path: "(file)", value: file, message: `not valid YAML: ${String(e.message).split("\n")[0]}`, fix: "fix the YAML syntax at the position given" }], file);
  }
}

export function loadExperiment(file: string, ctx: ValidationContext = {}): { experiment: Experiment; plan: Plan } {
  const result = validateExperiment(readExperimentDocument(file), ctx);
  if (!result.ok) throw new ExperimentError(result.issues, file);
  return { experiment: result.experiment, plan: result.plan };
}
