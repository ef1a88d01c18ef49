/**
 * The site policy as guestops understands it after loading (docs/policy.md): sites with their zones,
 * business hours and holidays; accounts with roles and allowances; VM tiers; the addresses vCenter
 * connects from; maintenance windows; rule settings. Loaded by `load.ts`, queried by `evaluate.ts`.
 *
 * Every query is a pure function of (policy, facts): no clock, no I/O. Instants are UTC, given as
 * ISO 8601 text with a zone (`2026-11-28T01:14:00Z`) or epoch milliseconds; local times are only
 * ever derived from them through the site's IANA zone.
 */
import type { Severity } from "../model/alert.js";
import type { Category } from "../model/catalog.js";
import type { AttributionLevel, Principal } from "../model/operation.js";

/** Alert severities, lowest first (one definition, in the alert contract). */
export { SEVERITIES, type Severity } from "../model/alert.js";

/** Rule ids the policy can tune (`rules:` section): the ids of the rule registry (detect/registry.ts). */
export type RuleId = string;

export const ROLES = ["admin", "automation", "backup", "monitoring", "service"] as const;
/** `admin` is a person; the others are machine accounts judged by their own hours. */
export type Role = (typeof ROLES)[number];

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** A UTC instant: ISO 8601 text with a zone designator, or epoch milliseconds. */
export type Instant = string | number;

/** Wall-clock time of day, minutes since local midnight (0..1440; 1440 = `24:00`). */
export type Minutes = number;

/** One recurring span: on each listed day, from `start` to `end` local time. */
export interface DaySpan {
  /** Days the span STARTS on (a span crossing midnight belongs to the day it starts). */
  readonly days: readonly Weekday[];
  readonly start: Minutes;
  /** `end <= start` means the span ends the next day (22:00–02:00). */
  readonly end: Minutes;
}

/** A weekly schedule: business hours, an account's allowed hours, a weekly maintenance window. */
export interface Schedule {
  /** Name given in `schedules:` (or `business-hours:<site>` for a site's business hours). */
  readonly name: string;
  readonly spans: readonly DaySpan[];
  /** Spans starting on a site holiday do not apply (true for business hours by default). */
  readonly excludeHolidays: boolean;
}

export interface Holiday {
  /** `YYYY-MM-DD` for one date, `MM-DD` for every year. */
  readonly date: string;
  readonly name?: string;
}

export interface Site {
  readonly name: string;
  /** IANA time zone, validated at load. */
  readonly zone: string;
  /** vCenter names or addresses (globs, case-insensitive) whose hosts belong to this site. */
  readonly vcenters: readonly string[];
  /** ESXi host names (globs; a pattern without a dot also matches a host's short name) or CIDRs. */
  readonly hosts: readonly string[];
  readonly holidays: readonly Holiday[];
  readonly businessHours: Schedule;
  /** The site used when no site's vcenters/hosts match (the one marked `default`, else the first). */
  readonly isDefault: boolean;
}

/** An entry of the account's `methods:` list: a canonical API name or a whole category. */
export type MethodGrant =
  | { readonly kind: "api"; readonly api: string }
  | { readonly kind: "category"; readonly category: Category };

/** An entry of an account's `vms:` list. */
export type VmGrant =
  | { readonly kind: "glob"; readonly pattern: string }
  | { readonly kind: "tier"; readonly tier: string };

export interface AccountPolicy {
  /** As written in the policy (`CORP\svc-veeam`, `svc-*@corp.example.com`). */
  readonly pattern: string;
  /** The pattern normalised like attribution normalises accounts (`corp\svc-veeam`). */
  readonly id: string;
  /** True when the pattern has glob characters (`*`, `?`). */
  readonly isGlob: boolean;
  readonly role: Role;
  readonly description?: string;
  /** Undefined: the role's default set (docs/policy.md: every method, monitoring: queries of processes/env only). */
  readonly methods: readonly MethodGrant[] | undefined;
  /** Undefined: every VM outside the `critical` tier. */
  readonly vms: readonly VmGrant[] | undefined;
  /** Undefined: business hours for `admin`, any time for the other roles. */
  readonly allowedHours: Schedule | undefined;
  /** Client addresses (CIDR or IP). Undefined: any. */
  readonly sources: readonly Cidr[] | undefined;
  /** Position in the file (first matching exact entry wins, then the first matching glob). */
  readonly index: number;
}

export interface VmTier {
  readonly name: string;
  /** VM names or globs (case-insensitive). */
  readonly vms: readonly string[];
}

/** A parsed address block (IPv4 or IPv6). */
export interface Cidr {
  readonly text: string;
  readonly family: 4 | 6;
  /** Network address as a bigint, and prefix length. */
  readonly network: bigint;
  readonly prefix: number;
}

/** A concrete occurrence of a window (instants in UTC ms). */
export interface WindowOccurrence {
  readonly start: number;
  readonly end: number;
}

/** How a maintenance window is timed. */
export type WindowTiming =
  | { readonly kind: "once"; readonly start: number; readonly end: number }
  | {
      readonly kind: "weekly";
      readonly schedule: Schedule;
      /** Validity bounds, inclusive local dates `YYYY-MM-DD`. */
      readonly from?: string;
      readonly until?: string;
    }
  | {
      readonly kind: "rrule";
      /** RFC 5545 RRULE value (`FREQ=WEEKLY;BYDAY=SA`). */
      readonly rrule: string;
      /** First occurrence, local wall time `YYYY-MM-DDTHH:MM[:SS]` in `zone`. */
      readonly dtstart: string;
      /** Wall-clock end of each occurrence, relative to its start: minutes. */
      readonly durationMinutes: number;
      /** Local wall times `YYYY-MM-DDTHH:MM[:SS]` (or dates) of cancelled occurrences. */
      readonly exdates: readonly string[];
    }
  | {
      readonly kind: "ics";
      /** Path as written (relative to the policy file). */
      readonly file: string;
      /** The file's events, already turned into occurrence generators (see windows.ts). */
      readonly events: readonly IcsEvent[];
    };

/** One VEVENT of an iCalendar file, normalised (times re-resolved through luxon). */
export interface IcsEvent {
  readonly uid: string;
  readonly summary?: string;
  /** IANA zone of DTSTART (TZID, or the window's zone for floating times, or UTC). */
  readonly zone: string;
  /** Local wall time of DTSTART, `YYYY-MM-DDTHH:MM:SS`. */
  readonly dtstart: string;
  /** RRULE value, when recurring. */
  readonly rrule?: string;
  /** How each occurrence ends: wall-clock span (DTEND) or exact duration (DURATION with h/m/s). */
  readonly end:
    | { readonly kind: "wall"; readonly minutes: number; readonly days: number }
    | { readonly kind: "exact"; readonly ms: number; readonly days: number };
  /** Cancelled occurrence starts (UTC ms), and date-only EXDATEs (local `YYYY-MM-DD`). */
  readonly exInstants: readonly number[];
  readonly exDates: readonly string[];
  /** Extra occurrence starts (RDATE), UTC ms. */
  readonly rdates: readonly number[];
  /** Occurrences moved by a RECURRENCE-ID override: original start (UTC ms) → new occurrence. */
  readonly overrides: ReadonlyMap<number, WindowOccurrence>;
}

export interface MaintenanceWindow {
  /** Ticket or change id quoted in reasons (`CHG-1234`); for iCalendar events, SUMMARY or UID. */
  readonly ref: string;
  readonly description?: string;
  /** Site whose zone times the window (and that scopes it); undefined: the default site's zone, any site. */
  readonly site?: string;
  /** IANA zone the window's local times are in. */
  readonly zone: string;
  /** Account patterns as written (matched like `accounts:` names). Undefined: any account the policy lists. */
  readonly accounts: readonly string[] | undefined;
  /** VM names/globs or `tier:<name>`. Undefined: any VM. */
  readonly vms: readonly VmGrant[] | undefined;
  /** Host globs/CIDRs. Undefined: any host. */
  readonly hosts: readonly string[] | undefined;
  /** Method grants the window approves. Undefined: every method. */
  readonly methods: readonly MethodGrant[] | undefined;
  readonly timing: WindowTiming;
  readonly index: number;
}

/**
 * An exception (`exceptions:`, or one made from the `serve` dashboard): the findings of its rules
 * on operations in its scope are accepted until it expires, under its owner and ticket. Judged by
 * the operation's time, never the wall clock, so a replay gives the same answer.
 */
export interface PolicyException {
  /** `exceptions[2]` for the policy file's, `ex-7` for one kept in the store. */
  readonly id: string;
  /** Rule ids it covers; undefined: any rule. */
  readonly rules: readonly RuleId[] | undefined;
  /** Account patterns (matched like `accounts:` names). Undefined: any principal, unattributed ones too. */
  readonly accounts: readonly string[] | undefined;
  /** VM names/globs or tiers. Undefined: any VM. */
  readonly vms: readonly VmGrant[] | undefined;
  /** Host globs/CIDRs. Undefined: any host. */
  readonly hosts: readonly string[] | undefined;
  /** Methods. Undefined: any method. */
  readonly methods: readonly MethodGrant[] | undefined;
  readonly owner: string;
  readonly ticket: string;
  /** Epoch ms: operations at or after this instant are no longer covered. */
  readonly expiresMs: number;
  readonly reason?: string;
  readonly source: "policy" | "store";
  /** Who made it and when (store exceptions). */
  readonly createdBy?: string;
  readonly createdMs?: number;
}

export interface RuleSetting {
  readonly enabled: boolean;
  /** Overrides the rule's default severity. */
  readonly severity?: Severity;
  /**
   * The rule's own options as its schema (`RuleMeta.options`) parsed them, defaults applied;
   * absent when the policy has no `rules.<id>` section.
   */
  readonly options?: Readonly<Record<string, unknown>>;
}

export interface Policy {
  /** Path of the policy file as given; undefined for the built-in default policy. */
  readonly source: string | undefined;
  readonly sites: readonly Site[];
  readonly defaultSite: Site;
  /** Domain alias → canonical domain (lower case), from `domains:` (`corp.example.com` → `corp`). */
  readonly domainAliases: ReadonlyMap<string, string>;
  /** Named schedules (`schedules:`), by name. */
  readonly schedules: ReadonlyMap<string, Schedule>;
  readonly accounts: readonly AccountPolicy[];
  readonly tiers: readonly VmTier[];
  /** Addresses vCenter connects from (loopback is always added). */
  readonly vcenterAddresses: readonly Cidr[];
  readonly windows: readonly MaintenanceWindow[];
  /** Exceptions (`exceptions:`), in file order. */
  readonly exceptions: readonly PolicyException[];
  /** Settings per rule id; a rule absent from the map is enabled at its default severity. */
  readonly rules: ReadonlyMap<RuleId, RuleSetting>;
  /** Operations of one principal on one VM closer than this form one alert (default 30 minutes). */
  readonly groupingGapMs: number;
  /**
   * Incident linking (`grouping: { link, repeat }`): alerts closer than `windowMs` link through
   * their principal, session or address (default 1 hour); the same finding by the same principal
   * links when repeated within `repeatMs` (default 7 days; 0 turns repeats off).
   */
  readonly incidentLinking: { readonly windowMs: number; readonly repeatMs: number };
  /** What `guestops coverage` and the report's coverage section hold the evidence to (`coverage:`). */
  readonly coverage: CoveragePolicy;
}

/** `coverage:`: the evidence the site requires and the thresholds of the coverage findings. */
export interface CoveragePolicy {
  /** How far back evidence must reach (`retention: 400d`); undefined: not required. */
  readonly retentionMs?: number;
  /** A source silent for longer than this on a host is a gap (`gap`, default 24 h). */
  readonly gapMs: number;
  /** Sources of one host whose clocks differ by more than this are skewed (`skew`, default 5 s). */
  readonly skewMs: number;
  /** hostd event numbers missing between two kept events above this are listed (`eventGap`, default 1000). */
  readonly eventGap: number;
  /**
   * Holes of more than this many vCenter event keys are reported (`vcenterEventGap`, default 0:
   * every missing key; vCenter numbers all its events in one sequence, so a hole is lost events).
   */
  readonly vcenterEventGap: number;
}

/** The coverage thresholds without a `coverage:` section. */
export const DEFAULT_COVERAGE: CoveragePolicy = {
  gapMs: 24 * 3_600_000,
  skewMs: 5_000,
  eventGap: 1000,
  vcenterEventGap: 0,
};

/* ------------------------------------------------------------------------------------------------
 * Query answers. Every answer carries a short reason an alert can quote.
 * ---------------------------------------------------------------------------------------------- */

/** A yes/no answer with the reason (`outside business hours Mon–Fri 08:00–18:00 Europe/Paris (Sat 02:14 local)`). */
export interface Verdict {
  readonly ok: boolean;
  readonly reason: string;
}

export interface SiteMatch {
  readonly site: Site;
  /** `host esx01.corp.local matches site paris (hosts: esx0*)`, or `default site`. */
  readonly reason: string;
}

export interface AccountMatch {
  readonly account: AccountPolicy;
  readonly reason: string;
}

export interface WindowMatch {
  readonly window: MaintenanceWindow;
  readonly occurrence: WindowOccurrence;
  /** `approved window CHG-1234 (Sat 22:00–Sun 02:00 Europe/Paris)`. */
  readonly reason: string;
}

/** What is known of one guest operation, as the policy needs it (see `factsFromOperation`). */
export interface OperationFacts {
  /** UTC instant of the operation; undefined when no source gave a time. */
  readonly time: Instant | undefined;
  /** Undefined when the operation is not attributed. */
  readonly principal: Principal | undefined;
  readonly level: AttributionLevel;
  /** Canonical API name (`StartProgramInGuest`) or `unknown`. */
  readonly api: string;
  readonly vm?: { readonly name?: string; readonly vmx?: string };
  readonly host?: string;
  readonly vcenter?: string;
  readonly sourceIp?: string;
  readonly via?: "vcenter" | "direct" | "unknown";
}

/** The checks `expectation()` makes; each one the rule of the same concern can report. */
export interface ExpectationChecks {
  /** unexpected-account: the principal matches an account entry (or a window names it). */
  readonly account: Verdict;
  /** outside-hours: inside the hours that apply to the account, or inside a covering window. */
  readonly hours: Verdict;
  /** disallowed-method: the method is in the account's allowed set (or a covering window's). */
  readonly method: Verdict;
  /**
   * The VM is within the account's `vms:`/`tiers:` (without them: any VM outside the critical tier),
   * or a covering window approves it. `sensitive-vm` reports it when `critical` is true.
   */
  readonly vm: Verdict;
  /** The client address is among the account's allowed sources (ok when unknown or no list). */
  readonly source: Verdict;
}

export interface Expectation {
  /** True when every check passed. */
  readonly expected: boolean;
  /** Reasons, failing checks first; quotable in alerts. */
  readonly why: readonly string[];
  readonly site: SiteMatch;
  readonly account: AccountMatch | undefined;
  readonly windows: readonly WindowMatch[];
  readonly tier: string | undefined;
  readonly critical: boolean;
  readonly checks: ExpectationChecks;
}

/**
 * The queries `evaluate.ts` exports (re-exported by `policy/index.ts`), for the rules to code against.
 * `loadPolicy(path)` / `parsePolicy(text, name)` in `load.ts` build the `Policy`; `defaultPolicy()` is
 * the built-in one used without `--policy` (one UTC site, no accounts, every rule at its default).
 * `factsFromOperation(op)` turns an attributed `Operation` into `OperationFacts`.
 */
export interface PolicyQueries {
  siteFor(policy: Policy, host: string | undefined, vcenter: string | undefined): SiteMatch;
  accountPolicy(policy: Policy, principal: Principal | undefined): AccountMatch | undefined;
  isHoliday(site: Site, instant: Instant): Holiday | undefined;
  isBusinessHours(instant: Instant, site: Site): Verdict;
  isWithinAllowedHours(account: AccountPolicy | Role, instant: Instant, site: Site): Verdict;
  windowsCovering(
    policy: Policy,
    facts: {
      instant: Instant;
      principal: Principal | undefined;
      vm?: { name?: string; vmx?: string } | string;
      host?: string;
      api?: string;
      site?: Site;
    },
  ): readonly WindowMatch[];
  vmTier(
    policy: Policy,
    vm: { name?: string; vmx?: string } | string | undefined,
  ): string | undefined;
  isCritical(policy: Policy, vm: { name?: string; vmx?: string } | string | undefined): boolean;
  methodAllowed(
    policy: Policy,
    account: AccountPolicy,
    api: string,
    vm?: { name?: string; vmx?: string } | string,
  ): Verdict;
  vmAllowed(
    policy: Policy,
    account: AccountPolicy,
    vm: { name?: string; vmx?: string } | string | undefined,
  ): Verdict;
  sourceAllowed(account: AccountPolicy, ip: string | undefined): Verdict;
  isVcenterAddress(policy: Policy, ip: string | undefined): Verdict;
  ruleEnabled(policy: Policy, rule: RuleId): boolean;
  ruleSeverity(policy: Policy, rule: RuleId, fallback: Severity): Severity;
  /** The rule's options from the policy, else its schema's defaults (`{}` without a schema). */
  ruleOptions(
    policy: Policy,
    rule: RuleId,
    schema: { parse(input: unknown): Readonly<Record<string, unknown>> } | undefined,
  ): Readonly<Record<string, unknown>>;
  expectation(policy: Policy, facts: OperationFacts): Expectation;
}
