/**
 * The vpxd coverage spans stored per input (what direct-host-access needs), as the rules take them;
 * and the stored records and operations fed to the logging-coverage collector.
 */
import type { Database } from "better-sqlite3";
import type { CoverageCollector } from "../coverage/collect.js";
import type { CoverageSpan } from "../detect/types.js";
import { loadKeyRuns } from "./key-runs.js";
import { storedOperations } from "./operations.js";
import { inputSources, loadLoggingRecords, loadRecords } from "./records.js";

export function storedCoverage(db: Database): CoverageSpan[] {
  const rows = db
    .prepare(`SELECT format, vcenter, start, end FROM coverage ORDER BY input_id, vcenter`)
    .all() as { format: string; vcenter: string; start: string; end: string }[];
  return rows.map((r) => ({
    format: r.format,
    start: r.start,
    end: r.end,
    ...(r.vcenter !== "" ? { vcenter: r.vcenter } : {}),
  })) as CoverageSpan[];
}

/**
 * Every stored record, the stored runs of vCenter event keys, and the stored operations of `range`,
 * into a coverage collector, streamed from the tables (records by time, then those without one),
 * never loaded whole.
 */
export function feedStoredCoverage(
  db: Database,
  collector: CoverageCollector,
  range: { readonly from?: number; readonly to?: number } = {},
): void {
  const sources = inputSources(db);
  for (const { record } of loadRecords(
    db,
    { from: Number.MIN_SAFE_INTEGER, to: Number.MAX_SAFE_INTEGER, timeless: true },
    sources,
  )) {
    collector.add(record);
  }
  for (const record of loadLoggingRecords(db, sources)) collector.add(record);
  for (const run of loadKeyRuns(db, sources)) collector.addKeyRun(run);
  for (const op of storedOperations(db, range)) collector.addOperation(op);
}
