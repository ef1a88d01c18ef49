/**
 * What the baseline rules share (docs/detection.md): the warm-up option, and the profile an
 * operation's account is judged by — or why it is not judged yet, which goes to the run's summary
 * (never a silent pass).
 */
import {
  accountKeyOf,
  DAY_MS,
  historyText,
  spanText,
  type AccountProfile,
  type Baseline,
} from "../baseline/model.js";
import type { Operation } from "../model/operation.js";
import { durationText, parseDuration } from "../shared/duration.js";
import type { RuleContext } from "./types.js";

export const warmupOption = durationText
  .default("14d")
  .describe(
    "History the baseline, and each account in it, must span before the rule judges (`14d`, `21d`).",
  );

export type Judged =
  | { readonly state: "judged"; readonly key: string; readonly profile: AccountProfile }
  | { readonly state: "new"; readonly key: string }
  | { readonly state: "young"; readonly key: string; readonly profile: AccountProfile }
  | { readonly state: "unjudged" };

export interface BaselineJudge {
  readonly baseline: Baseline;
  /** The whole baseline spans the warm-up. */
  readonly mature: boolean;
  readonly warmupMs: number;
  /** The account's profile, or why it cannot be judged (young accounts are remembered for the note). */
  readonly account: (op: Operation) => Judged;
  /** `baseline of 41230 operations from ... (30 days)` */
  readonly history: string;
  /** Notes the accounts still warming up (call from the rule's `end`). */
  readonly end: () => void;
}

export function baselineJudge(ctx: RuleContext, id: string, warmup: string): BaselineJudge {
  const baseline = ctx.baseline as Baseline;
  const warmupMs = parseDuration(warmup) ?? 14 * DAY_MS;
  const span = baseline.to - baseline.from;
  const mature = span >= warmupMs;
  if (!mature) {
    ctx.note(
      `warming up: the baseline rests on ${spanText(span)} of history (${baseline.operations} operations), ${spanText(warmupMs)} needed (rules.${id}.warmup); nothing judged`,
    );
  }
  const young = new Map<string, string>();
  const aliases = ctx.policy.domainAliases;
  return {
    baseline,
    mature,
    warmupMs,
    history: historyText(baseline),
    account(op) {
      const principal = op.attribution.principal;
      if (!mature || !principal) return { state: "unjudged" };
      const key = accountKeyOf(principal, aliases);
      const profile = baseline.accounts.get(key);
      if (!profile) return { state: "new", key };
      if (baseline.to - profile.seen.first < warmupMs) {
        if (young.size < 10_000) young.set(key, profile.display);
        return { state: "young", key, profile };
      }
      return { state: "judged", key, profile };
    },
    end() {
      if (young.size === 0) return;
      const names = [...young.values()].sort();
      ctx.note(
        `${names.length} account(s) with less than ${spanText(warmupMs)} of history not judged yet (rules.${id}.warmup): ${names.slice(0, 5).join(", ")}${names.length > 5 ? `, +${names.length - 5} more` : ""}`,
      );
    },
  };
}

/** `its 30-day history (412 operations on 28 days)` */
export function accountHistory(profile: AccountProfile, baseline: Baseline): string {
  return `its ${spanText(baseline.to - profile.seen.first)} of history (${profile.seen.ops} operations on ${profile.seen.days} days)`;
}
