/**
 * rare-hour: an account at work in an hour of the week it (almost) never worked in, business
 * hours or not. The hour and its two neighbours (jitter) must have had activity on more than
 * `share` of the weeks of the account's history (docs/detection.md, "Hours of the week").
 */
import { z } from "zod";
import {
  DAY_MS,
  hourOfWeekText,
  localClockOf,
  type AccountProfile,
} from "../../../baseline/model.js";
import { localTime, method, where, who } from "../../describe.js";
import { accountHistory, baselineJudge, warmupOption } from "../../baseline-judge.js";
import { defineRule } from "../../types.js";

/** The account's usual hours: hours of the day by days active, busiest first. */
export function usualHours(profile: AccountProfile, max = 4): string {
  const byHour = new Array<number>(24).fill(0);
  profile.hourOfWeek.forEach((n, how) => {
    byHour[how % 24] = (byHour[how % 24] ?? 0) + n;
  });
  const top = byHour
    .map((n, h) => ({ n, h }))
    .filter((x) => x.n > 0)
    .sort((a, b) => b.n - a.n || a.h - b.h)
    .slice(0, max);
  return top.map((x) => `${String(x.h).padStart(2, "0")}:00 (${x.n} days)`).join(", ");
}

export const rareHour = defineRule({
  meta: {
    id: "rare-hour",
    label: "rare hour",
    description:
      "An account working in an hour of the week it (almost) never worked in before, even inside business hours.",
    severity: "low",
    attack: ["T1675", "T1078"],
    principal: "required",
    requiresBaseline: true,
    options: z.strictObject({
      warmup: warmupOption,
      share: z
        .number({ error: "expected a share between 0 and 1" })
        .min(0)
        .max(1)
        .default(0.1)
        .describe(
          "An hour (with its neighbours) is rare when it had activity on at most this share of the account's weeks.",
        ),
    }),
  },
  create(ctx) {
    const judge = baselineJudge(ctx, "rare-hour", ctx.options.warmup);
    const { zone } = judge.baseline;
    return {
      onOperation(op) {
        const j = judge.account(op);
        if (j.state !== "judged" || op.time === undefined) return;
        const t = Date.parse(op.time);
        if (Number.isNaN(t)) return;
        const { profile } = j;
        const how = localClockOf(zone, t).hourOfWeek;
        const at = (h: number): number => profile.hourOfWeek[(h + 168) % 168] ?? 0;
        const seen = at(how - 1) + at(how) + at(how + 1);
        const weeks = (judge.baseline.to - profile.seen.first) / (7 * DAY_MS);
        const allowed = Math.floor(ctx.options.share * weeks);
        if (seen > allowed) return;
        ctx.report({
          operation: op,
          key: `rare-hour:${j.key}:${how}`,
          reason: `${who(op)} ran ${method(op)} on ${where(op)} at ${localTime(op.time, zone)}: in ${accountHistory(profile, judge.baseline)} the account worked around ${hourOfWeekText(how)} (±1 h) on ${seen} day(s) over ${Math.round(weeks * 10) / 10} weeks (rare: at most ${allowed}); its usual hours: ${usualHours(profile)}`,
        });
      },
      end: judge.end,
    };
  },
});
