/** The vpxd coverage spans stored per input (what direct-host-access needs), as the rules take them. */
import type { Database } from "better-sqlite3";
import type { CoverageSpan } from "../detect/types.js";

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
