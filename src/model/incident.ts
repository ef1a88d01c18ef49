/**
 * The incident contract: one item per attack (docs/alerts.md, "Incidents").
 *
 * An incident links alerts that belong together: the same principal, session or source address
 * close in time, an unattributed alert close to another on the same VM, or the same finding
 * repeated by the same principal. Every alert belongs to exactly one incident (most incidents hold
 * one alert). Strings copied from logs are attacker-controlled: every formatter escapes them.
 *
 * Stability: fields are only ever added (optional), never renamed or removed.
 */
import type { AlertPrincipal, Severity } from "./alert.js";

/** Why alerts were linked. */
export const LINK_KINDS = ["principal", "session", "address", "vm", "repeat"] as const;
export type LinkKind = (typeof LINK_KINDS)[number];

/** One reason alerts of the incident were linked. */
export interface IncidentLink {
  /**
   * `principal`: same account, close in time; `session`: same session id; `address`: same client
   * address (not loopback, not a vCenter address); `vm`: an unattributed alert close to another on
   * the same VM; `repeat`: the same rule on the same method by the same account, again.
   */
  readonly by: LinkKind;
  /** What they share, as people read it (`CORP\alice`, `10.10.99.50`, `disallowed-method ListFilesInGuest by CORP\svc-aria`). */
  readonly value: string;
  /** Ids of the alerts this link joined, in time order. */
  readonly alerts: readonly string[];
}

/** One alert of the incident's timeline. */
export interface IncidentEntry {
  /** `Alert.id`. */
  readonly alert: string;
  readonly severity: Severity;
  /** First and last operation time of the alert (UTC ISO 8601); absent when it has none. */
  readonly firstSeen?: string;
  readonly lastSeen?: string;
  readonly title: string;
  /** Principal display of the alert. */
  readonly principal: string;
  readonly vm: string;
  readonly host?: string;
  readonly rules: readonly string[];
  /** Operations in the alert. */
  readonly count: number;
}

export interface Incident {
  /**
   * Stable id: `in-` + the first 16 hex digits of SHA-256 over `incident` and the id of its first
   * alert (earliest `firstSeen`, then lowest id). Same alerts, same id, whatever the input order;
   * the id stays the same while later alerts join.
   */
  readonly id: string;
  /** Highest severity of its alerts. */
  readonly severity: Severity;
  /** One line: `<principals> on <VMs>: <rule ids>`. */
  readonly title: string;
  /** Distinct principals of the alerts, in order of first appearance. */
  readonly principals: readonly AlertPrincipal[];
  /** Distinct VMs, in order of first appearance. */
  readonly vms: readonly string[];
  /** Distinct hosts, in order of first appearance. */
  readonly hosts: readonly string[];
  /** Time of the first and last operation of all its alerts; absent when none has a time. */
  readonly firstSeen?: string;
  readonly lastSeen?: string;
  /** Ids of its alerts, in time order (as in `timeline`). */
  readonly alerts: readonly string[];
  /** Operations over all its alerts. */
  readonly operations: number;
  /** Rule ids that fired in any of its alerts, most severe alert first. */
  readonly rules: readonly string[];
  /** ATT&CK technique ids of its alerts, sorted. */
  readonly attack: readonly string[];
  /** Why its alerts were linked (empty for an incident of one alert). */
  readonly links: readonly IncidentLink[];
  /** Its alerts in time order. */
  readonly timeline: readonly IncidentEntry[];
}
