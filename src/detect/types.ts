/**
 * The rule plug-in contract. A rule declares what it is (`meta`) and, given a context, returns the
 * callbacks the engine feeds operations to; it reports findings through `ctx.report()` and never
 * returns them. Rules are pure: no clock, no I/O, no globals; everything they need is in the context.
 */
import type { z } from "zod";
import type { Category } from "../model/catalog.js";
import type { Alert, Severity } from "../model/alert.js";
import type { Incident } from "../model/incident.js";
import type { Operation } from "../model/operation.js";
import type { FormatName } from "../model/record.js";
import type { Expectation, Policy, PolicyQueries, RuleId } from "../policy/types.js";
import type { Baseline } from "../baseline/model.js";

export type { Alert, Severity, RuleId };

export interface RuleMeta {
  /** Stable id (`outside-hours`), equal to the rule's folder name. Never reused once published. */
  readonly id: RuleId;
  /** Short label used in alert titles (`outside hours`). */
  readonly label: string;
  /** One sentence: what the rule flags. */
  readonly description: string;
  /** Default severity; the policy's `rules:` section may override it. */
  readonly severity: Severity;
  /** ATT&CK technique ids of the rule itself; the engine adds the methods' techniques. */
  readonly attack: readonly string[];
  /**
   * `required`: the rule judges the account, so the engine passes it only operations with a
   * principal (exact, correlated or inferred), and an inferred principal lowers every finding one
   * severity step with the reason saying so. `optional`: the rule gets every operation, unknown and
   * ambiguous ones included; a finding that still depends on the account says so in its report.
   */
  readonly principal: "required" | "optional";
  /**
   * The rule judges the site's own policy (accounts, hours, tiers): without a policy file (the
   * built-in default policy) the engine does not run it, and lists it as disabled.
   */
  readonly requiresPolicy?: boolean;
  /**
   * The rule judges departures from the learned baseline (docs/detection.md): without one (no
   * `guestops learn` into the store scanned) the engine does not run it, and lists it as disabled.
   */
  readonly requiresBaseline?: boolean;
  /** Only operations of these categories are routed to the rule; absent: every category. */
  readonly categories?: readonly (Category | "unknown")[];
  /**
   * The rule's own settings in the policy's `rules.<id>` section, beside `enabled` and `severity`:
   * a strict zod object whose fields carry their default (`.default()`) and one sentence of help
   * (`.describe()`). The policy schema and docs/rules.md's option tables are built from it.
   */
  readonly options?: RuleOptionsSchema;
}

/** A rule's option schema: a zod object of optional, defaulted, described fields. */
export type RuleOptionsSchema = z.ZodObject<z.ZodRawShape>;

/** The options a rule receives: its schema's output, defaults applied. */
export type RuleOptions = Readonly<Record<string, unknown>>;

/** One finding on one operation. */
export interface RuleReport {
  readonly operation: Operation;
  /** Plain-language reason naming the facts (account, VM, host, local time and zone, window refs). */
  readonly reason: string;
  /** Defaults to the rule's severity (after the policy's override). */
  readonly severity?: Severity;
  /** Techniques beyond the rule's own (the method's are added by the engine). */
  readonly attack?: readonly string[];
  /**
   * Findings of one rule with the same key within one alert merge into one reason with a count
   * (`... (4 operations)`); default: the reason text itself.
   */
  readonly key?: string;
  /**
   * The finding depends on who the principal is, so an inferred principal lowers it one step.
   * Default: true for `principal: "required"` rules, false otherwise.
   */
  readonly dependsOnPrincipal?: boolean;
}

/** A time span some log source covers (from the input layer), for "no record where one was due". */
export interface CoverageSpan {
  readonly format: FormatName;
  /** UTC ISO 8601. */
  readonly start: string;
  readonly end: string;
  /** vCenter or host the source belongs to, when known. */
  readonly vcenter?: string;
  readonly host?: string;
}

/** What a rule receives. */
export interface RuleContext<O = RuleOptions> {
  readonly policy: Policy;
  readonly queries: PolicyQueries;
  /** The policy's answer for an operation (computed once per operation and shared by all rules). */
  readonly expectation: (operation: Operation) => Expectation;
  /** Time spans covered by each source, when the input layer knows them. */
  readonly coverage: readonly CoverageSpan[];
  /** The rule's effective default severity (meta.severity unless the policy overrides it). */
  readonly severity: Severity;
  /** The rule's options from the policy (`rules.<id>`), validated, defaults applied. */
  readonly options: O;
  readonly report: (finding: RuleReport) => void;
  /** The learned baseline, when the scan has one (`scan --db` after `guestops learn`). */
  readonly baseline?: Baseline;
  /**
   * A line for the run's summary (`warming up: ...`): what the rule could not judge and why. The
   * same text noted twice is kept once.
   */
  readonly note: (text: string) => void;
}

/**
 * Callbacks a rule returns; function-typed properties (safe to detach). A rule that judges each
 * operation alone reports from `onOperation`. A rule that looks at a window of other operations
 * keeps only that window: it reports what can no longer change from `flush(now)` (the stream's
 * time) and says, through `heldSince`, how far back it may still report, so that alerts wait for it.
 */
export interface RuleListener {
  /** Each routed operation, in time order (operations without a time last). */
  readonly onOperation?: (operation: Operation) => void;
  /**
   * The stream has reached `now` (epoch ms): no operation older than that will come. Report what
   * is now settled and forget state older than the rule's window.
   */
  readonly flush?: (now: number) => void;
  /** Epoch ms of the earliest operation the rule may still report on; undefined: none. */
  readonly heldSince?: () => number | undefined;
  /** After the last operation: report everything still held. */
  readonly end?: () => void;
}

export interface Rule {
  readonly meta: RuleMeta;
  readonly create: (ctx: RuleContext) => RuleListener;
}

/**
 * Defines a rule; with `meta.options`, `ctx.options` is typed from the schema's output. The
 * engine always passes options parsed by that same schema.
 */
export function defineRule<S extends RuleOptionsSchema = z.ZodObject<Record<never, never>>>(rule: {
  readonly meta: RuleMeta & { readonly options?: S };
  readonly create: (ctx: RuleContext<z.output<S>>) => RuleListener;
}): Rule {
  return rule as unknown as Rule;
}

/** A rule that threw: the engine goes on without it (counted, never fatal). */
export interface RuleFailure {
  readonly code: "rule_crashed";
  readonly ruleId: string;
  /** Where it threw: `create`, `operation` or `end`. */
  readonly stage: "create" | "operation" | "end";
  /** How many times it threw in this run. */
  readonly count: number;
  /** Message of the first error. */
  readonly message: string;
  /** Operation being judged at the first error. */
  readonly operationId?: string;
}

/** A finding as the engine keeps it, after severity and attribution adjustments. */
export interface Signal {
  readonly rule: string;
  readonly operationId: string;
  readonly severity: Severity;
  readonly reason: string;
  readonly key: string;
  readonly attack: readonly string[];
}

export interface DetectOptions {
  /** Operations of one principal on one VM closer than this form one alert. Default: the policy's. */
  readonly groupingGapMs?: number;
  /** Alerts closer than this link into one incident (docs/alerts.md). Default: the policy's. */
  readonly incidentWindowMs?: number;
  /** The same finding repeated within this gap links; 0: never. Default: the policy's. */
  readonly incidentRepeatMs?: number;
}

export interface DetectDeps {
  readonly rules: readonly Rule[];
  readonly policy: Policy;
  /** The policy queries; default: the real ones (`policy/evaluate.ts`). Tests may pass others. */
  readonly queries?: PolicyQueries;
  readonly coverage?: readonly CoverageSpan[];
  readonly options?: DetectOptions;
  /** The learned baseline the baseline rules judge against. */
  readonly baseline?: Baseline;
}

export interface DetectResult {
  /** Alerts, in order of first operation time (then id). */
  readonly alerts: readonly Alert[];
  /** Incidents: every alert in exactly one; most severe first, then first time, then id. */
  readonly incidents: readonly Incident[];
  /** Findings before grouping, per rule id (rules that ran and found nothing are listed with 0). */
  readonly signalsByRule: ReadonlyMap<string, number>;
  /** Rules not run: disabled by the policy, or needing a policy file when none was given. */
  readonly disabled: readonly { readonly rule: string; readonly why: string }[];
  readonly failures: readonly RuleFailure[];
  /** What rules could not judge and why (baseline warm-up), one line each. */
  readonly notes?: readonly { readonly rule: string; readonly note: string }[];
  /** Operations judged. */
  readonly operations: number;
  /**
   * Alerts not raised because an active exception covered every one of their findings, each with
   * its `exceptions` (docs/policy.md#exceptions); in alert order. Absent: none.
   */
  readonly excepted?: readonly Alert[];
}
