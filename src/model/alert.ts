/**
 * The alert contract: what `guestops scan` prints and what later rules extend (docs/alerts.md).
 *
 * An alert is one cluster of guest operations made by the same principal on the same VM with gaps
 * shorter than the grouping gap (30 minutes by default). It carries every rule that fired on any
 * of those operations, with every reason. Strings copied from logs are attacker-controlled: every
 * formatter escapes them.
 *
 * Stability: fields are only ever added (optional), never renamed or removed.
 */
import type { Category } from "./catalog.js";
import type { AttributionLevel, Origin, Principal } from "./operation.js";
import type { GuestDetails, ObservationKind, Outcome } from "./record.js";

/** Severities, lowest first. */
export const SEVERITIES = ["info", "low", "medium", "high", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

export const isSeverity = (value: string): value is Severity =>
  (SEVERITIES as readonly string[]).includes(value);

/** 0 (info) to 4 (critical). */
export const severityRank = (severity: Severity): number => SEVERITIES.indexOf(severity);

/** Moves a severity up (positive) or down (negative), clamped to info..critical. */
export function shiftSeverity(severity: Severity, steps: number): Severity {
  const rank = Math.min(SEVERITIES.length - 1, Math.max(0, severityRank(severity) + steps));
  return SEVERITIES[rank] ?? severity;
}

export const maxSeverity = (a: Severity, b: Severity): Severity =>
  severityRank(a) >= severityRank(b) ? a : b;

/** Where one observation of an operation was read: enough to find the line again. */
export interface AlertProvenance {
  /** Input path as the user named it (`-` for stdin). */
  readonly path: string;
  /** Member path inside an archive. */
  readonly member?: string;
  /** SHA-256 of the outer input file (hex). */
  readonly sha256: string;
  /** First physical line (1-based) of the record. */
  readonly line: number;
  readonly kind: ObservationKind;
}

/** One operation of an alert, flattened for output. */
export interface AlertOperation {
  /** `Operation.id` (stable across runs). */
  readonly id: string;
  /** UTC ISO 8601; absent when no source gave a usable time. */
  readonly time?: string;
  /** Canonical API name (`StartProgramInGuest`), `unknown` when no source named it. */
  readonly method: string;
  readonly category: Category | "unknown";
  readonly outcome: Outcome;
  /** VM as the operation names it (display name, else .vmx path, else moref). */
  readonly vm: string;
  readonly host?: string;
  readonly vcenter?: string;
  /** Principal display name; absent when unknown or ambiguous. */
  readonly principal?: string;
  readonly attribution: {
    readonly level: AttributionLevel;
    readonly reason: string;
    /** Display names of the candidates when ambiguous. */
    readonly candidates?: readonly string[];
  };
  readonly origin: Origin;
  readonly opId?: string;
  readonly session?: string;
  /** Guest path / program / arguments, where a source logged them. */
  readonly guest?: GuestDetails;
  /** Ids of the rules that fired on this operation (empty for context operations of the cluster). */
  readonly rules: readonly string[];
  /** Every observation of the operation, in time order. */
  readonly provenance: readonly AlertProvenance[];
}

/**
 * One rule's verdict within an alert. A rule that fires on several operations of the cluster with
 * the same finding (same rule, same key) gives one signal with a count.
 */
export interface AlertSignal {
  /** Rule id (`outside-hours`). */
  readonly rule: string;
  /** Severity of this signal after the attribution adjustment (inferred principal: one lower). */
  readonly severity: Severity;
  /** Plain-language reason naming the facts. */
  readonly reason: string;
  /** ATT&CK technique ids this signal supports. */
  readonly attack: readonly string[];
  /** Ids of the operations the signal was raised on. */
  readonly operations: readonly string[];
}

/** Who the alert is about. */
export interface AlertPrincipal {
  /** Canonical account id (`corp\alice`); absent when unknown or ambiguous. */
  readonly id?: string;
  /** Display form: the account as written, `unknown`, or `ambiguous (a, b)`. */
  readonly display: string;
  /** Weakest attribution level among the alert's operations (exact > correlated > inferred > ...). */
  readonly level: AttributionLevel;
  readonly kind?: Principal["kind"];
}

/**
 * An exception that covered findings of an alert (docs/policy.md#exceptions): on an excepted alert
 * (every finding covered) and on an alert kept because only some of its findings were.
 */
export interface AlertException {
  /** `exceptions[2]` (the policy file's) or `ex-7` (made in `serve`, kept in the store). */
  readonly id: string;
  readonly ticket: string;
  readonly owner: string;
  /** UTC ISO 8601: operations from then on are no longer covered. */
  readonly expires: string;
  readonly reason?: string;
  readonly source: "policy" | "store";
  /** Findings (rule × operation) of the alert it covered. */
  readonly findings: number;
}

export interface Alert {
  /**
   * Stable id: `al-` + the first 16 hex digits of SHA-256 over the principal key, the VM key and
   * the content key of the first operation's first record (`model/record-key.ts`). Same lines,
   * same id, whichever file they were read from.
   */
  readonly id: string;
  /** Rule ids that fired, most severe first. */
  readonly rules: readonly string[];
  /** Highest signal severity, one step higher when two or more different rules agree. */
  readonly severity: Severity;
  /** One line: principal, VM and what fired. */
  readonly title: string;
  /** One line per signal (the signal's reason, with its operation count when above one). */
  readonly reasons: readonly string[];
  readonly signals: readonly AlertSignal[];
  /** ATT&CK technique ids: the rules' and the methods' (T1675 always), sorted. */
  readonly attack: readonly string[];
  readonly principal: AlertPrincipal;
  /** The VM (display name when known). */
  readonly vm: string;
  /** Host of the first operation that names one. */
  readonly host?: string;
  /** Every host the operations name, when more than one (vMotion during the cluster). */
  readonly hosts?: readonly string[];
  /** Policy site the VM or host belongs to. */
  readonly site?: string;
  /** Time of the first and last operation (UTC ISO 8601); absent when no operation has a time. */
  readonly firstSeen?: string;
  readonly lastSeen?: string;
  /** Number of operations in the cluster. */
  readonly count: number;
  /** Distinct canonical API names, in first-seen order. */
  readonly methods: readonly string[];
  readonly operations: readonly AlertOperation[];
  /** Id of the incident the alert belongs to (`Incident.id`, model/incident.ts). */
  readonly incident?: string;
  /** Exceptions that covered some (a kept alert) or all (an excepted alert) of its findings. */
  readonly exceptions?: readonly AlertException[];
}
