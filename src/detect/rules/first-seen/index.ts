/**
 * first-seen: what an account's history has never shown — the account itself (once the baseline
 * is past its warm-up), the account on a VM, with a method, from a source address or with a user
 * agent. Host changes are never judged (DRS and vMotion move VMs every day), and a VM joining an
 * automation account's job is not reported while the run keeps the account's cadence (off-cadence
 * judges the job's VM set).
 */
import { z } from "zod";
import { keepsCadence, RUN_GAP_MS, vmKeyOf, type AccountProfile } from "../../../baseline/model.js";
import type { Operation } from "../../../model/operation.js";
import { method, where, who } from "../../describe.js";
import { accountHistory, baselineJudge, warmupOption } from "../../baseline-judge.js";
import { defineRule } from "../../types.js";

const list = (values: Iterable<string>, max = 4): string => {
  const all = [...values];
  if (all.length === 0) return "none";
  return `${all.slice(0, max).join(", ")}${all.length > max ? `, +${all.length - max} more` : ""}`;
};

export const firstSeen = defineRule({
  meta: {
    id: "first-seen",
    label: "first seen",
    description:
      "An account its baseline never saw, or an account on a VM, with a method, from a source address or with a user agent its history never showed.",
    severity: "low",
    attack: ["T1675", "T1078"],
    principal: "required",
    requiresBaseline: true,
    options: z.strictObject({ warmup: warmupOption }),
  },
  create(ctx) {
    const judge = baselineJudge(ctx, "first-seen", ctx.options.warmup);
    const runs = new Map<string, { start: number; last: number }>();
    /** The start of the account's current run (operations closer than the run gap). */
    const runStart = (key: string, t: number): number => {
      const r = runs.get(key);
      if (r && t - r.last <= RUN_GAP_MS) {
        r.last = t;
        return r.start;
      }
      runs.set(key, { start: t, last: t });
      return t;
    };
    const inJob = (profile: AccountProfile, start: number): boolean =>
      profile.cadence !== undefined && keepsCadence(profile.cadence, judge.baseline.zone, start);
    return {
      onOperation(op: Operation) {
        const j = judge.account(op);
        if (j.state === "unjudged" || j.state === "young") return;
        const t = op.time === undefined ? Number.NaN : Date.parse(op.time);
        if (j.state === "new") {
          ctx.report({
            operation: op,
            key: `account:${j.key}`,
            reason: `${who(op)} ran ${method(op)} on ${where(op)}: the account never used guest operations in the ${judge.history} (expected: one of the ${judge.baseline.accounts.size} known accounts)`,
          });
          return;
        }
        const { profile, key } = j;
        const history = accountHistory(profile, judge.baseline);
        const start = Number.isNaN(t) ? t : runStart(key, t);
        const vmKey = vmKeyOf(op.vm);
        if (!profile.vms.has(vmKey) && !inJob(profile, start)) {
          ctx.report({
            operation: op,
            key: `vm:${key}:${vmKey}`,
            reason: `${who(op)} ran ${method(op)} on ${where(op)}, a VM the account never touched in ${history}; it used ${profile.vms.size} VM(s) (${list([...profile.vms.values()].map((v) => v.name))})`,
          });
        }
        if (op.api !== "unknown" && !profile.methods.has(op.api)) {
          ctx.report({
            operation: op,
            key: `method:${key}:${op.api}`,
            reason: `${who(op)} ran ${method(op)} on ${where(op)}, a method the account never used in ${history}; it used ${list(profile.methods.keys(), 6)}`,
          });
        }
        const ip = op.origin.sourceIp;
        if (ip !== undefined && profile.sources.size > 0 && !profile.sources.has(ip)) {
          ctx.report({
            operation: op,
            key: `source:${key}:${ip}`,
            reason: `${who(op)} ran ${method(op)} on ${where(op)} from ${ip}, an address the account never came from in ${history}; it came from ${list(profile.sources.keys())}`,
          });
        }
        const agent = op.origin.userAgent ?? op.origin.client;
        if (agent !== undefined && profile.agents.size > 0 && !profile.agents.has(agent)) {
          ctx.report({
            operation: op,
            key: `agent:${key}:${agent}`,
            reason: `${who(op)} ran ${method(op)} on ${where(op)} with ${agent}, a client the account never used in ${history}; it used ${list(profile.agents.keys())}`,
          });
        }
      },
      flush(now) {
        for (const [k, r] of runs) if (now - r.last > RUN_GAP_MS) runs.delete(k);
      },
      end: judge.end,
    };
  },
});
