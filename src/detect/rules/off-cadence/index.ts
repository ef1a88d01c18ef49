/**
 * off-cadence: an automation account (one whose history shows a regular schedule) running outside
 * its schedule, or a run that works mostly on VMs outside its learned VM set. A VM joining the
 * job is not a finding while the run keeps the cadence and mostly touches known VMs: jobs grow as
 * VMs are created. Runs are operations of the account closer than 30 minutes; a run is judged
 * when it ends (or after half a period, for jobs that never pause), and its operations are held
 * until then.
 */
import { z } from "zod";
import {
  cadenceOffset,
  cadenceText,
  localClockOf,
  RUN_GAP_MS,
  vmKeyOf,
  type AccountProfile,
} from "../../../baseline/model.js";
import type { Operation } from "../../../model/operation.js";
import { localTime, who } from "../../describe.js";
import { vmDisplay } from "../../group.js";
import { accountHistory, baselineJudge, warmupOption } from "../../baseline-judge.js";
import { defineRule } from "../../types.js";

interface Run {
  readonly profile: AccountProfile;
  readonly start: number;
  last: number;
  readonly ops: Operation[];
  /** An earlier part of the same run already judged (true: in cadence). */
  readonly continues?: boolean;
}

export const offCadence = defineRule({
  meta: {
    id: "off-cadence",
    label: "off cadence",
    description:
      "An automation account acting outside its learned schedule, or outside the VM set its job covers.",
    severity: "medium",
    attack: ["T1675", "T1078"],
    principal: "required",
    requiresBaseline: true,
    options: z.strictObject({ warmup: warmupOption }),
  },
  create(ctx) {
    const judge = baselineJudge(ctx, "off-cadence", ctx.options.warmup);
    const { zone } = judge.baseline;
    const runs = new Map<string, Run>();
    const judgeRun = (run: Run): boolean => {
      const cadence = run.profile.cadence;
      if (!cadence) return true;
      const first = run.ops[0] as Operation;
      const history = `${accountHistory(run.profile, judge.baseline)}; ${cadence.runs} runs learned, ${Math.round(cadence.coverage * 100)}% of slots kept`;
      const offset = cadenceOffset(cadence, localClockOf(zone, run.start).wallMs);
      const inCadence = run.continues ?? Math.abs(offset) <= cadence.toleranceMs;
      if (!inCadence) {
        for (const op of run.ops) {
          ctx.report({
            operation: op,
            key: `schedule:${run.profile.account}:${run.start}`,
            reason: `${who(first)} ran ${run.ops.length} guest operation(s) from ${localTime(first.time, zone)} (VM ${vmDisplay(op)} among them), ${Math.round(Math.abs(offset) / 60_000)} min from its schedule: it runs ${cadenceText(cadence)}, learned from ${history}`,
          });
        }
        return false;
      }
      const known = new Set<string>();
      const fresh = new Map<string, Operation[]>();
      for (const op of run.ops) {
        const key = vmKeyOf(op.vm);
        if (run.profile.vms.has(key)) known.add(key);
        else fresh.set(key, [...(fresh.get(key) ?? []), op]);
      }
      if (fresh.size > 0 && fresh.size > known.size) {
        for (const ops of fresh.values()) {
          for (const op of ops) {
            ctx.report({
              operation: op,
              key: `vmset:${run.profile.account}:${run.start}`,
              reason: `${who(first)}'s run from ${localTime(first.time, zone)} touched ${fresh.size} VM(s) outside its job's ${run.profile.vms.size} (VM ${vmDisplay(op)} among them) and only ${known.size} known: a job that grows keeps mostly known VMs (usually ${cadence.vmsPerRun} per run), learned from ${history}`,
            });
          }
        }
      }
      return true;
    };
    const settle = (bound: number): void => {
      for (const [key, run] of runs) {
        if (bound - run.last <= RUN_GAP_MS) continue;
        runs.delete(key);
        judgeRun(run);
      }
    };
    return {
      onOperation(op) {
        const j = judge.account(op);
        if (j.state !== "judged" || !j.profile.cadence || op.time === undefined) return;
        const t = Date.parse(op.time);
        if (Number.isNaN(t)) return;
        let run = runs.get(j.key);
        if (run && t - run.last > RUN_GAP_MS) {
          runs.delete(j.key);
          judgeRun(run);
          run = undefined;
        }
        if (run && t - run.start > Math.max(RUN_GAP_MS, j.profile.cadence.periodMs / 2)) {
          // a job that never pauses: judge what is held, the rest continues its verdict
          runs.delete(j.key);
          const verdict = judgeRun(run);
          run = { profile: j.profile, start: t, last: t, ops: [], continues: verdict };
          runs.set(j.key, run);
        }
        if (!run) {
          run = { profile: j.profile, start: t, last: t, ops: [] };
          runs.set(j.key, run);
        }
        run.last = t;
        run.ops.push(op);
      },
      flush: settle,
      heldSince() {
        let min: number | undefined;
        for (const r of runs.values()) if (min === undefined || r.start < min) min = r.start;
        return min;
      },
      end() {
        settle(Number.POSITIVE_INFINITY);
        judge.end();
      },
    };
  },
});
