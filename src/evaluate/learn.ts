/**
 * `evaluate --learn-until T`'s learning step (docs/evaluation.md): the inputs are ingested into a
 * store (a temporary one, or `db`), a baseline is learned from the operations before T by the
 * same run as `guestops learn --until T` (`learnIntoStore`), and the scan is the store's
 * (`scan --db`): the stored operations from T on, judged by the policy rules and the baseline
 * rules against that baseline.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { dateText, spanText } from "../baseline/model.js";
import { analyzeWithStore } from "../store/answer.js";
import { learnIntoStore } from "../store/learning.js";
import { openStore } from "../store/open.js";
import type { LearnHook } from "./index.js";

export interface StoreLearningOptions {
  /** The store to learn into and scan from; absent: a temporary one, removed afterwards. */
  readonly db?: string;
  readonly cwd?: string;
}

export function storeLearning(options: StoreLearningOptions = {}): LearnHook {
  return async ({ read, policy, until }) => {
    const temporary =
      options.db === undefined ? mkdtempSync(join(tmpdir(), "guestops-evaluate-")) : undefined;
    const file =
      temporary !== undefined
        ? join(temporary, "evaluate.db")
        : resolve(options.cwd ?? ".", options.db ?? "");
    const close = (): void => {
      if (temporary !== undefined) rmSync(temporary, { recursive: true, force: true });
    };
    try {
      const store = openStore(file);
      let note: string;
      try {
        const { result, seconds } = await learnIntoStore(store.db, {
          ...read,
          policy,
          to: until,
          command: "evaluate",
        });
        const b = result.baseline;
        note =
          b.operations > 0
            ? `learned (as guestops learn --until ${new Date(until).toISOString()}): ${b.operations} operation(s) from ${dateText(b.from)} to ${dateText(b.to)} (${spanText(b.to - b.from)}), ${b.accounts.size} account(s), ${b.vms.size} VM(s), in ${seconds.toFixed(1)} s; left out ${b.excluded.operations} operation(s) of ${result.excludedAlerts.length} alert(s) of medium or higher; the scan judges the rest against this baseline${temporary !== undefined ? " (temporary store)" : ""}`
            : `nothing learned: no attributed operation with a time before ${new Date(until).toISOString()}; the baseline rules do not judge`;
      } finally {
        store.close();
      }
      return {
        note,
        analyze: (scanOptions) => analyzeWithStore(file, scanOptions),
        close,
      };
    } catch (error) {
      close();
      throw error;
    }
  };
}
