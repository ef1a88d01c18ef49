/**
 * `evaluate()`: scans logs whose guest operations are labelled and scores the result
 * (docs/evaluation.md). Two steps, kept apart: learning on the operations before `learnUntil`
 * (a `learn` hook: `storeLearning()` in `learn.ts` is the baseline learner) and scanning the rest
 * with the policy — through the hook's scan when it gives one (the store's, with the baseline),
 * else `analyze()`.
 */
import { dirname, resolve } from "node:path";
import type { Rule } from "../detect/types.js";
import type { Operation } from "../model/operation.js";
import type { InputHost } from "../ingest/read.js";
import { analyze, type Analysis, type AnalyzeOptions, type AttributeOptions } from "../pipeline.js";
import type { Policy } from "../policy/types.js";
import { readLabels, type Labels } from "./labels.js";
import { score, type Evaluation } from "./score.js";

/** What a learning step hands to the scan. */
export interface Learned {
  /** Rules to run instead of the built-in ones (e.g. the built-in ones plus baseline rules). */
  readonly rules?: readonly Rule[];
  /** The policy to scan with (e.g. with learned entries added). */
  readonly policy?: Policy;
  /** The scan to run instead of `analyze()` (e.g. the store's, judging against the baseline). */
  readonly analyze?: (options: AnalyzeOptions) => Promise<Analysis>;
  /** One line for the report: what was learned. */
  readonly note: string;
  /** Called once the scan is over (e.g. removes a temporary store). */
  readonly close?: () => void;
}

/**
 * The learning step: reads the same inputs, learns from the operations before `until` and
 * returns what the scan should use. Absent in builds without baselines.
 */
export type LearnHook = (input: {
  readonly read: AttributeOptions;
  readonly policy: Policy;
  readonly until: number;
}) => Promise<Learned>;

export interface EvaluateOptions extends AttributeOptions {
  readonly truth: string;
  readonly policy: Policy;
  /** Learn on what comes before this instant (epoch ms), score what comes after. */
  readonly learnUntil?: number;
  readonly learn?: LearnHook;
}

export interface EvaluateResult {
  readonly evaluation: Evaluation;
  readonly labels: Labels;
  readonly analysis: Analysis;
  readonly learning: {
    readonly until?: string;
    /** Whether a learning step ran. */
    readonly learned: boolean;
    readonly note: string;
  };
}

/** The labels' `inputHosts`, resolved against the labels file's directory. */
export function labelInputHosts(labels: Labels, truth: string): InputHost[] {
  const base = dirname(truth);
  return (labels.fleet?.inputHosts ?? []).map((h) => ({
    path: resolve(base, h.path),
    host: h.host,
  }));
}

export async function evaluate(options: EvaluateOptions): Promise<EvaluateResult> {
  const truth = resolve(options.cwd ?? ".", options.truth);
  const labels = await readLabels(truth);
  const inputHosts = [...labelInputHosts(labels, truth), ...(options.inputHosts ?? [])];
  const read: AttributeOptions = { ...options, ...(inputHosts.length ? { inputHosts } : {}) };
  let learned: Learned | undefined;
  let note: string;
  if (options.learnUntil !== undefined && options.learn) {
    learned = await options.learn({ read, policy: options.policy, until: options.learnUntil });
    note = learned.note;
  } else if (options.learnUntil !== undefined) {
    note =
      "no learning step in this build: operations before --learn-until are left out, the scan uses the policy rules alone";
  } else {
    note = "no learning (no --learn-until): the scan uses the policy rules alone";
  }
  const operations: Operation[] = [];
  let analysis: Analysis;
  try {
    const scan = learned?.analyze ?? analyze;
    analysis = await scan({
      ...read,
      onOperations: (batch) => {
        for (const op of batch) operations.push(op);
      },
      policy: learned?.policy ?? options.policy,
      ...(learned?.rules ? { rules: learned.rules } : {}),
      ...(options.learnUntil !== undefined ? { since: options.learnUntil } : {}),
    });
  } finally {
    learned?.close?.();
  }
  const evaluation = score({
    labels,
    operations,
    alerts: analysis.detection.alerts,
    incidents: analysis.detection.incidents,
    ...(options.learnUntil !== undefined ? { from: options.learnUntil } : {}),
  });
  return {
    evaluation,
    labels,
    analysis,
    learning: {
      ...(options.learnUntil !== undefined
        ? { until: new Date(options.learnUntil).toISOString() }
        : {}),
      learned: learned !== undefined,
      note,
    },
  };
}
