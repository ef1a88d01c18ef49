/**
 * fan-out: one account reaching more distinct VMs within a fan-out window (10 minutes, fixed
 * windows as in learning) than its history supports: the robust limit of its distinct VMs per
 * active window, never below `minVms`; an account the baseline never saw is held to `minVms`.
 * The window's first operation on each VM is held until the window closes, so that every VM of
 * a fan-out is reported.
 */
import { z } from "zod";
import {
  FANOUT_WINDOW_MS,
  statsText,
  upperLimit,
  vmKeyOf,
  DEFAULT_TUNING,
} from "../../../baseline/model.js";
import type { Operation } from "../../../model/operation.js";
import { localTime, who } from "../../describe.js";
import { vmDisplay } from "../../group.js";
import { accountHistory, baselineJudge, warmupOption } from "../../baseline-judge.js";
import { defineRule } from "../../types.js";

interface Window {
  readonly bucket: number;
  readonly first: number;
  readonly vms: Map<string, Operation>;
  reported: boolean;
  limit: number;
  why: string;
}

export const fanOut = defineRule({
  meta: {
    id: "fan-out",
    label: "fan-out",
    description:
      "One account reaching more distinct VMs within minutes than its learned history supports.",
    severity: "medium",
    attack: ["T1675", "T1021"],
    principal: "required",
    requiresBaseline: true,
    options: z.strictObject({
      warmup: warmupOption,
      minVms: z
        .number({ error: "expected a whole number of VMs" })
        .int()
        .min(2)
        .max(100_000)
        .default(5)
        .describe(
          "Distinct VMs in one window that are never a fan-out (and the limit for a new account).",
        ),
    }),
  },
  create(ctx) {
    const judge = baselineJudge(ctx, "fan-out", ctx.options.warmup);
    const { zone } = judge.baseline;
    const minutes = FANOUT_WINDOW_MS / 60_000;
    const windows = new Map<string, Window>();
    const report = (w: Window, op: Operation): void => {
      ctx.report({
        operation: op,
        key: `fan-out:${w.first}:${who(op)}`,
        reason: `${who(op)} reached ${w.vms.size} distinct VMs within ${minutes} minutes from ${localTime(new Date(w.bucket * FANOUT_WINDOW_MS).toISOString(), zone)} (VM ${vmDisplay(op)} among them); ${w.why}`,
      });
    };
    const settle = (bound: number): void => {
      for (const [key, w] of windows) {
        if ((w.bucket + 1) * FANOUT_WINDOW_MS > bound) continue;
        windows.delete(key);
        if (w.vms.size <= w.limit) continue;
        for (const op of w.vms.values()) report(w, op);
      }
    };
    return {
      onOperation(op) {
        const j = judge.account(op);
        if (j.state === "unjudged" || j.state === "young" || op.time === undefined) return;
        const t = Date.parse(op.time);
        if (Number.isNaN(t)) return;
        const bucket = Math.floor(t / FANOUT_WINDOW_MS);
        let w = windows.get(j.key);
        if (w && w.bucket !== bucket) {
          settle(bucket * FANOUT_WINDOW_MS);
          w = undefined;
        }
        if (!w) {
          let limit = ctx.options.minVms;
          let why = `a new account is held to ${limit} (the ${judge.history})`;
          if (j.state === "judged" && j.profile.fanout.n > 0) {
            limit = Math.max(limit, upperLimit(j.profile.fanout, DEFAULT_TUNING));
            why = `the history supports up to ${limit} per ${minutes} minutes (${statsText(j.profile.fanout, "window")}; ${accountHistory(j.profile, judge.baseline)}; ${judge.history})`;
          }
          w = { bucket, first: t, vms: new Map(), reported: false, limit, why };
          windows.set(j.key, w);
        }
        const vmKey = vmKeyOf(op.vm);
        if (w.vms.has(vmKey)) return;
        w.vms.set(vmKey, op);
      },
      flush: settle,
      heldSince() {
        let min: number | undefined;
        for (const w of windows.values()) if (min === undefined || w.first < min) min = w.first;
        return min;
      },
      end: () => {
        settle(Number.POSITIVE_INFINITY);
        judge.end();
      },
    };
  },
});
