/**
 * One learning run into a store, as `guestops learn` makes it (docs/detection.md): the paths are
 * ingested first (when there are any), the baseline is learned from the stored operations within
 * `from`/`to` (`learnFromStore`: alerted operations left out) and replaces the stored one, and
 * the run's row is closed with what was learned. `guestops evaluate --learn-until` runs the same.
 */
import type { Database } from "better-sqlite3";
import type { LearnRunResult } from "../baseline/run.js";
import type { Policy } from "../policy/types.js";
import { VERSION } from "../version.js";
import { beginRun, finishRun, learnFromStore, saveBaseline } from "./baseline.js";
import { ingestIntoStore, type IngestOptions, type IngestReport } from "./ingest.js";

export interface LearningOptions extends Omit<IngestOptions, "command" | "args"> {
  readonly policy: Policy;
  /** Epoch ms bounds of the operations learned from (absent: every stored one). */
  readonly from?: number;
  readonly to?: number;
  /** When the baseline was learned (default: the clock). */
  readonly learnedAt?: number;
  /** The command named in the run's row (default `learn`). */
  readonly command?: string;
}

export interface LearningReport {
  readonly runId: number;
  /** The ingest, when paths were given. */
  readonly ingest?: IngestReport;
  readonly result: LearnRunResult;
  /** Seconds the learning took (the ingest left out). */
  readonly seconds: number;
}

export async function learnIntoStore(
  db: Database,
  options: LearningOptions,
): Promise<LearningReport> {
  const command = options.command ?? "learn";
  let runId: number;
  let ingest: IngestReport | undefined;
  if (options.paths.length > 0) {
    ingest = await ingestIntoStore(db, { ...options, command, args: [...options.paths] });
    runId = ingest.runId;
  } else {
    runId = beginRun(db, command, [], VERSION);
  }
  const started = Date.now();
  const result = learnFromStore(db, {
    policy: options.policy,
    ...(options.from !== undefined ? { from: options.from } : {}),
    ...(options.to !== undefined ? { to: options.to } : {}),
    learnedAt: options.learnedAt ?? Date.now(),
  });
  const { baseline } = result;
  saveBaseline(db, runId, baseline);
  const seconds = (Date.now() - started) / 1000;
  finishRun(db, runId, {
    learned: baseline.operations,
    excluded: baseline.excluded,
    accounts: baseline.accounts.size,
    vms: baseline.vms.size,
    seconds,
  });
  return { runId, ...(ingest ? { ingest } : {}), result, seconds };
}
