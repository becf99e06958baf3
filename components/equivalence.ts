// docs/equivalence.md, generated from the backend descriptors: one column per backend (its
// `equivalence`, components/<backend>/equivalence.ts), one row per aspect, then every place a backend
// cannot match exactly and what Airlock does instead. test/conformance.test.ts fails when the file
// differs from what this renders. Regenerate:
//   node -r ts-node/register/transpile-only components/equivalence.ts
import * as fs from "fs";
import * as path from "path";
import { allDescriptors } from "./backends";
import { EQUIVALENCE_ASPECTS, EquivalenceAspect } from "./backend-descriptor";

export const EQUIVALENCE_DOC = path.join(__dirname, "..", "docs", "equivalence.md");

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function renderEquivalence(): string {
  const backends = allDescriptors();
  const header = [
    "# Equivalence: one spec, the same guarantees on every backend",
    "",
    "Generated from the backend descriptors (`components/<backend>/equivalence.ts`) by",
    "`components/equivalence.ts`; `test/conformance.test.ts` fails when this file drifts. Regenerate with",
    "`node -r ts-node/register/transpile-only components/equivalence.ts`. The same invariants I1–I9",
    "(docs/invariants.md) are checked on every stack file's graph by the conformance table.",
    "",
  ];
  const table = [
    `| | ${backends.map((b) => b.title).join(" | ")} |`,
    `|---|${backends.map(() => "---").join("|")}|`,
    ...(Object.entries(EQUIVALENCE_ASPECTS) as [EquivalenceAspect, string][]).map(
      ([aspect, label]) => `| **${label}** | ${backends.map((b) => cell(b.equivalence?.aspects[aspect] ?? "not written yet")).join(" | ")} |`,
    ),
  ];
  const differences = ["", "## Where a backend cannot match exactly, and what Airlock does instead", ""];
  for (const b of backends) {
    differences.push(`### ${b.title}`, "");
    const list = b.equivalence?.differences ?? [];
    if (!b.equivalence) differences.push(`- not written yet (components/${b.name}/equivalence.ts)`);
    else if (list.length === 0) differences.push("- none");
    else differences.push(...list.map((d) => `- ${d}`));
    differences.push("");
  }
  return [...header, ...table, ...differences].join("\n");
}

if (require.main === module) {
  fs.writeFileSync(EQUIVALENCE_DOC, renderEquivalence());
  process.stdout.write(`wrote ${path.relative(process.cwd(), EQUIVALENCE_DOC)}\n`);
}
