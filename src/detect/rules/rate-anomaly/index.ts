/**
 * rate-anomaly: more guest operations by an account in an hour or a day, or by an account on one
 * VM in an hour, than the account's history supports (docs/detection.md, "Robust limits"): the
 * limit is `median + k · max(1.4826 · MAD, relativeFloor · median, absoluteFloor)` of its counts
 * per active window. Windows are fixed (whole UTC hours; local days in the baseline's zone), as in
 * learning; every operation past the limit is reported, the earlier ones of the window are the
 * alert's context.
 */
import { z } from "zod";
import {
  DEFAULT_TUNING,
  HOUR_MS,
  localClockOf,
  statsText,
  upperLimit,
  vmKeyOf,
  type LimitTuning,
  type RateStats,
} from "../../../baseline/model.js";
import type { Operation } from "../../../model/operation.js";
import { localTime, where, who } from "../../describe.js";
import { accountHistory, baselineJudge, warmupOption } from "../../baseline-judge.js";
import { defineRule } from "../../types.js";

interface Window {
  bucket: number;
  count: number;
}

export const rateAnomaly = defineRule({
  meta: {
    id: "rate-anomaly",
    label: "unusual rate",
    description:
      "More guest operations by an account (in an hour or a day), or by an account on one VM (in an hour), than its learned history supports.",
    severity: "medium",
    attack: ["T1675"],
    principal: "required",
    requiresBaseline: true,
    options: z.strictObject({
      warmup: warmupOption,
      k: z
        .number({ error: "expected a number" })
        .min(1)
        .max(50)
        .default(DEFAULT_TUNING.k)
        .describe("Robust standard deviations (1.4826 · MAD) above the median a window may reach."),
      relativeFloor: z
        .number({ error: "expected a number" })
        .min(0)
        .max(10)
        .default(DEFAULT_TUNING.relativeFloor)
        .describe("The deviation used is at least this share of the median."),
      absoluteFloor: z
        .number({ error: "expected a number" })
        .min(0)
        .max(100_000)
        .default(DEFAULT_TUNING.absoluteFloor)
        .describe("The deviation used is at least this many operations."),
    }),
  },
  create(ctx) {
    const judge = baselineJudge(ctx, "rate-anomaly", ctx.options.warmup);
    const tuning: LimitTuning = {
      k: ctx.options.k,
      relativeFloor: ctx.options.relativeFloor,
      absoluteFloor: ctx.options.absoluteFloor,
    };
    const { zone } = judge.baseline;
    const windows = new Map<string, Window>();
    /** Counts the operation in its window; the count when the window has passed `limit`. */
    const over = (key: string, bucket: number, limit: number): number | undefined => {
      let w = windows.get(key);
      if (!w || w.bucket !== bucket) {
        w = { bucket, count: 0 };
        windows.set(key, w);
      }
      w.count++;
      return w.count > limit ? w.count : undefined;
    };
    const reportOver = (
      op: Operation,
      count: number,
      key: string,
      what: string,
      windowText: string,
      limit: number,
      stats: RateStats,
      unit: string,
      history: string,
    ): void => {
      ctx.report({
        operation: op,
        key,
        reason: `${what} reached ${count} guest operations ${windowText}, above the ${limit} per ${unit} its history supports (${statsText(stats, unit)}; ${history}; ${judge.history})`,
      });
    };
    return {
      onOperation(op) {
        const j = judge.account(op);
        if (j.state !== "judged" || op.time === undefined) return;
        const t = Date.parse(op.time);
        if (Number.isNaN(t)) return;
        const { profile } = j;
        const history = accountHistory(profile, judge.baseline);
        const hour = Math.floor(t / HOUR_MS);
        const hourText = `in the hour from ${localTime(new Date(hour * HOUR_MS).toISOString(), zone)}`;
        if (profile.hourly.n > 0) {
          const limit = upperLimit(profile.hourly, tuning);
          const count = over(`h\u0000${j.key}`, hour, limit);
          if (count !== undefined) {
            reportOver(
              op,
              count,
              `hour:${j.key}:${hour}`,
              `${who(op)} (here on ${where(op)})`,
              hourText,
              limit,
              profile.hourly,
              "hour",
              history,
            );
          }
        }
        const day = localClockOf(zone, t).day;
        if (profile.daily.n > 0) {
          const limit = upperLimit(profile.daily, tuning);
          const count = over(`d\u0000${j.key}`, day, limit);
          if (count !== undefined) {
            reportOver(
              op,
              count,
              `day:${j.key}:${day}`,
              `${who(op)} (here on ${where(op)})`,
              `on ${localTime(op.time, zone).slice(0, 14)} (local day)`,
              limit,
              profile.daily,
              "day",
              history,
            );
          }
        }
        const vmKey = vmKeyOf(op.vm);
        const use = profile.vms.get(vmKey);
        if (use && use.hourly.n > 0) {
          const limit = upperLimit(use.hourly, tuning);
          const count = over(`v\u0000${j.key}\u0000${vmKey}`, hour, limit);
          if (count !== undefined) {
            reportOver(
              op,
              count,
              `vm:${j.key}:${vmKey}:${hour}`,
              `${who(op)} on ${where(op)}`,
              hourText,
              limit,
              use.hourly,
              "hour",
              `the account's ${use.ops} operations on this VM over ${use.days} days`,
            );
          }
        }
      },
      end: judge.end,
    };
  },
});
