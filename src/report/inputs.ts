/** What every report states about the inputs it read. */

/** One input (a file, stdin or an archive member) as a report lists it. */
export interface ReportInput {
  readonly path: string;
  readonly member?: string;
  readonly sha256: string;
  readonly format?: string;
  readonly records?: number;
}

export interface ReportInputs {
  readonly inputs: readonly ReportInput[];
  /** Inputs (files or archive members) per detected format; `unknown` for unrecognised ones. */
  readonly formats: Readonly<Record<string, number>>;
  /** Per-line problems by code. */
  readonly issues: Readonly<Record<string, number>>;
  /** Archive members and directory entries found but not read (absent: nothing skipped). */
  readonly skipped?: ReportSkipped;
}

/** What was found but not read: archive members and directory entries, each by reason. */
export interface ReportSkipped {
  readonly members: number;
  readonly membersBy: readonly { readonly reason: string; readonly count: number }[];
  readonly entries: number;
  readonly entriesBy: readonly { readonly reason: string; readonly count: number }[];
}

/** The skipped counts of a read, as every report states them. */
export function skippedOf(totals: {
  readonly membersSkipped: number;
  readonly membersSkippedBy: readonly { readonly reason: string; readonly count: number }[];
  readonly entriesSkipped: number;
  readonly entriesSkippedBy: readonly { readonly reason: string; readonly count: number }[];
}): ReportSkipped {
  return {
    members: totals.membersSkipped,
    membersBy: totals.membersSkippedBy,
    entries: totals.entriesSkipped,
    entriesBy: totals.entriesSkippedBy,
  };
}

/**
 * One summary line (`skipped: 3 archive members (binary 2, no-reader 1); 1 directory entry
 * (fifo 1)`), or undefined when nothing was skipped. Reasons are our own words: no escaping.
 */
export function skippedText(s: ReportSkipped | undefined): string | undefined {
  if (!s || s.members + s.entries === 0) return undefined;
  const by = (list: ReportSkipped["membersBy"]): string =>
    list.map((r) => `${r.reason} ${r.count}`).join(", ");
  const parts: string[] = [];
  if (s.members > 0) {
    parts.push(`${s.members} archive member(s) (${by(s.membersBy)}; --all-members reads them)`);
  }
  if (s.entries > 0) parts.push(`${s.entries} directory entr(ies) (${by(s.entriesBy)})`);
  return `skipped: ${parts.join("; ")}`;
}
