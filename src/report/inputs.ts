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
}
