/**
 * exfil-sequence: discovery (ListFiles / ListProcesses) then InitiateFileTransferFromGuest, or a
 * file staged in, a program run and a file pulled out, by one account on one VM within the window,
 * where that is not routine: the account did it on that VM on fewer than `routineDays` days of its
 * history, and it is neither an account that routinely does it (on `routineDays` days or more) on a
 * VM it already works on, nor such an automation account keeping its cadence (a job's new VM).
 * Automation runs the very same sequence, which is why the judgement rests on the account, VM and
 * schedule, never on the methods alone.
 */
import { z } from "zod";
import { keepsCadence, RUN_GAP_MS, spanText, vmKeyOf } from "../../../baseline/model.js";
import { SEQUENCE_WINDOW_MS } from "../../../baseline/learn.js";
import { SequenceTracker, shapeText } from "../../../baseline/sequence.js";
import type { Operation } from "../../../model/operation.js";
import { durationText, parseDuration } from "../../../shared/duration.js";
import { localTime, where, who } from "../../describe.js";
import { accountHistory, baselineJudge, warmupOption } from "../../baseline-judge.js";
import { defineRule } from "../../types.js";

export const exfilSequence = defineRule({
  meta: {
    id: "exfil-sequence",
    label: "exfiltration sequence",
    description:
      "Discovery then a file pulled out of the guest, or stage, run and collect, by an account on a VM where that is not routine.",
    severity: "high",
    attack: ["T1675", "T1005", "T1105"],
    principal: "required",
    requiresBaseline: true,
    options: z.strictObject({
      warmup: warmupOption,
      window: durationText
        .default("30m")
        .describe("The span the steps must fall within (`30m`, `1h`)."),
      routineDays: z
        .number({ error: "expected a whole number of days" })
        .int()
        .min(1)
        .max(10_000)
        .default(3)
        .describe("Days of history with the sequence on the VM that make it routine."),
    }),
  },
  create(ctx) {
    const judge = baselineJudge(ctx, "exfil-sequence", ctx.options.warmup);
    const windowMs = parseDuration(ctx.options.window) ?? SEQUENCE_WINDOW_MS;
    const { routineDays } = ctx.options;
    const tracker = new SequenceTracker<Operation>(windowMs);
    const runs = new Map<string, { start: number; last: number }>();
    return {
      onOperation(op) {
        const j = judge.account(op);
        if (j.state === "unjudged" || j.state === "young" || op.time === undefined) return;
        const t = Date.parse(op.time);
        if (Number.isNaN(t)) return;
        let run = runs.get(j.key);
        if (!run || t - run.last > RUN_GAP_MS) {
          run = { start: t, last: t };
          runs.set(j.key, run);
        }
        run.last = t;
        const vmKey = vmKeyOf(op.vm);
        const match = tracker.add(`${j.key}\u0000${vmKey}`, op.api, t, op);
        if (!match) return;
        let expected: string;
        if (j.state === "judged") {
          const { profile } = j;
          const use = profile.vms.get(vmKey);
          const days = use?.sequenceDays ?? 0;
          if (days >= routineDays) return;
          // an account that routinely works this way, on a VM it works on (an admin's
          // Invoke-VMScript), or a job keeping its cadence as it takes in a new VM
          if (profile.sequenceDays >= routineDays) {
            if (use) return;
            const cadence = profile.cadence;
            if (cadence && keepsCadence(cadence, judge.baseline.zone, run.start)) return;
          }
          expected = `${use ? `on this VM the account did so on ${days} day(s)` : "the account never touched this VM"} and on ${profile.sequenceDays} day(s) on any VM, in ${accountHistory(profile, judge.baseline)} (routine from ${routineDays} days, on the VM or on any VM it works on)`;
        } else {
          expected = `the account is not in the ${judge.history}`;
        }
        const steps = match.steps.map((s) => s.item);
        const minutes = Math.max(1, Math.round((t - (match.steps[0]?.t ?? t)) / 60_000));
        for (const step of steps) {
          ctx.report({
            operation: step,
            key: `exfil:${j.key}:${vmKey}:${steps[0]?.id ?? ""}`,
            reason: `${who(op)} on ${where(op)}: ${steps.map((s) => s.api).join(" → ")} within ${minutes} min from ${localTime(steps[0]?.time, judge.baseline.zone)} (${shapeText(match.shape)}, window ${spanText(windowMs)}); ${expected}`,
          });
        }
      },
      flush(now) {
        tracker.forget(now);
        for (const [k, r] of runs) if (now - r.last > RUN_GAP_MS) runs.delete(k);
      },
      heldSince: () => tracker.earliest(),
      end: judge.end,
    };
  },
});
