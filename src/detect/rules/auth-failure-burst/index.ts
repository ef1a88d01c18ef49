/**
 * auth-failure-burst: guest authentication failures bunched per account or per VM (default 5 within
 * 10 minutes, `auth-failure-burst` in the policy). vCenter's GuestOperationAuthFailure event text is
 * not published, so failures are recognised leniently: the reader's `vc.auth-failure` observations,
 * and guest-login faults (`InvalidGuestLogin`, authentication faults) on any observation.
 */
import { z } from "zod";
import type { Operation } from "../../../model/operation.js";
import { durationText, parseDuration } from "../../../shared/duration.js";
import { defineRule } from "../../types.js";
import { isAttributed } from "../../group.js";
import { localClock, localTime, who } from "../../describe.js";
import { vmDisplay, vmKey } from "../../group.js";

const AUTH_FAULT =
  /InvalidGuestLogin|GuestAuthenticationChallenge|GuestPermissionDenied|authenticat/i;

/** True when an operation is a failed guest authentication. */
export function isAuthFailure(op: Operation): boolean {
  return op.observations.some(
    (o) =>
      o.kind === "vc.auth-failure" ||
      (o.fault !== undefined && AUTH_FAULT.test(o.fault) && o.outcome !== "success"),
  );
}

/** Runs of operations (sorted by time) in which every member lies in a window of `threshold`. */
export function bursts(
  ops: readonly Operation[],
  threshold: number,
  windowMs: number,
): Operation[][] {
  const times = ops.map((op) => Date.parse(op.time ?? ""));
  const inBurst = new Array<boolean>(ops.length).fill(false);
  let lo = 0;
  for (let hi = 0; hi < ops.length; hi++) {
    while ((times[hi] ?? 0) - (times[lo] ?? 0) > windowMs) lo++;
    if (hi - lo + 1 >= threshold) for (let i = lo; i <= hi; i++) inBurst[i] = true;
  }
  const runs: Operation[][] = [];
  let current: Operation[] = [];
  let last = Number.NEGATIVE_INFINITY;
  ops.forEach((op, i) => {
    const t = times[i] ?? 0;
    if (!inBurst[i]) return;
    if (current.length > 0 && t - last > windowMs) {
      runs.push(current);
      current = [];
    }
    current.push(op);
    last = t;
  });
  if (current.length > 0) runs.push(current);
  return runs;
}

export const authFailureBurst = defineRule({
  meta: {
    id: "auth-failure-burst",
    label: "guest auth failure burst",
    description:
      "Guest authentication failures bunched per account or per VM (default 5 within 10 minutes).",
    severity: "medium",
    attack: ["T1675", "T1110"],
    principal: "optional",
    options: z.strictObject({
      threshold: z
        .number({ error: "expected a whole number of failures" })
        .int("expected a whole number of failures")
        .min(2, "a burst needs at least 2 failures")
        .max(100_000)
        .default(5)
        .describe("Failures (per account, or per VM) that make a burst."),
      window: durationText
        .default("10m")
        .describe("The span the failures must fall within (`10m`, `1h`, `90s`)."),
    }),
  },
  create(ctx) {
    const { threshold } = ctx.options;
    const windowMs = parseDuration(ctx.options.window) ?? 600_000;
    const minutes = Math.round(windowMs / 60000);
    /**
     * Failures per account and per VM, as chains: a chain ends where two failures lie more than the
     * window apart, and no burst spans such a gap, so a chain whose last failure is a window old is
     * settled: its bursts are reported and it is forgotten.
     */
    const byAccount = new Map<string, { ops: Operation[]; last: number }>();
    const byVm = new Map<string, { ops: Operation[]; last: number }>();
    const zoneOf = (op: Operation): string => ctx.expectation(op).site.site.zone;
    const span = (run: readonly Operation[]): string => {
      const first = run[0] as Operation;
      const last = run.at(-1) as Operation;
      const zone = zoneOf(first);
      return `${localTime(first.time, zone)} to ${localClock(last.time ?? "", zone)}`;
    };
    const reportAccount = (ops: readonly Operation[]): void => {
      for (const run of bursts(ops, threshold, windowMs)) {
        const first = run[0] as Operation;
        const vms = [...new Set(run.map(vmDisplay))];
        for (const op of run) {
          ctx.report({
            operation: op,
            key: `account:${first.id}`,
            dependsOnPrincipal: true,
            reason: `${run.length} guest authentication failures by ${who(first)} within ${minutes} minutes (threshold ${threshold}), ${span(run)}, on ${vms.length === 1 ? `VM ${vms[0]}` : `${vms.length} VMs (${vms.join(", ")})`}`,
          });
        }
      }
    };
    const reportVm = (ops: readonly Operation[]): void => {
      for (const run of bursts(ops, threshold, windowMs)) {
        const first = run[0] as Operation;
        const accounts = [...new Set(run.map(who))];
        // One named account: already reported as that account's burst.
        if (accounts.length < 2 && run.every(isAttributed)) continue;
        for (const op of run) {
          ctx.report({
            operation: op,
            key: `vm:${first.id}`,
            reason: `${run.length} guest authentication failures on VM ${vmDisplay(first)} within ${minutes} minutes (threshold ${threshold}), ${span(run)}, by ${accounts.length} principals (${accounts.join(", ")})`,
          });
        }
      }
    };
    const add = (
      chains: Map<string, { ops: Operation[]; last: number }>,
      key: string,
      op: Operation,
      t: number,
      settle: (ops: readonly Operation[]) => void,
    ): void => {
      const chain = chains.get(key);
      if (chain && t - chain.last <= windowMs) {
        chain.ops.push(op);
        chain.last = t;
        return;
      }
      if (chain) settle(chain.ops);
      chains.set(key, { ops: [op], last: t });
    };
    const settleBefore = (bound: number): void => {
      for (const [key, chain] of byAccount) {
        if (chain.last >= bound) continue;
        byAccount.delete(key);
        reportAccount(chain.ops);
      }
      for (const [key, chain] of byVm) {
        if (chain.last >= bound) continue;
        byVm.delete(key);
        reportVm(chain.ops);
      }
    };
    return {
      onOperation(op) {
        if (op.time === undefined || !isAuthFailure(op)) return;
        const t = Date.parse(op.time);
        if (isAttributed(op) && op.attribution.principal) {
          add(byAccount, op.attribution.principal.id, op, t, reportAccount);
        }
        add(byVm, vmKey(op), op, t, reportVm);
      },
      flush(now) {
        settleBefore(now - windowMs);
      },
      heldSince() {
        let min: number | undefined;
        for (const chains of [byAccount, byVm]) {
          for (const { ops } of chains.values()) {
            const t = Date.parse((ops[0] as Operation).time ?? "");
            if (min === undefined || t < min) min = t;
          }
        }
        return min;
      },
      end() {
        settleBefore(Number.POSITIVE_INFINITY);
      },
    };
  },
});
