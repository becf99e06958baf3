// Writes the report (JSON + HTML) and appends a `chaos-report` event with its summary and paths to
// the sandbox record, so that the record says what chaos ran and where its evidence is.
import * as fs from "fs";
import * as path from "path";
import { ChainLog } from "../../components/record/chain-log";
import { renderHtml } from "./html";
import { ChaosReport, recordSummary } from "./report";

export function writeReport(report: ChaosReport, dir: string): { json: string; html: string } {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const json = path.join(dir, "report.json");
  const html = path.join(dir, "report.html");
  report.files = { json, html };
  fs.writeFileSync(json, JSON.stringify(report, null, 2), { mode: 0o600 });
  fs.writeFileSync(html, renderHtml(report), { mode: 0o600 });
  return { json, html };
}

/** Appends to the record; returns why not, if it could not (e.g. the record is sealed or missing). */
export function appendToRecord(record: string | undefined, type: string, data: unknown): string | undefined {
  if (!record) return "the target has no record";
  if (!fs.existsSync(record)) return `record ${record} does not exist`;
  try {
    new ChainLog(record).append(type, data);
    return undefined;
  } catch (e: any) {
    return e.message;
  }
}

export function appendReportToRecord(report: ChaosReport, record: string | undefined): string | undefined {
  return appendToRecord(record, "chaos-report", recordSummary(report));
}
