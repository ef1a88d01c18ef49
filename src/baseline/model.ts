/**
 * The baseline: what normal guest-operation use looks like at a site, learned from stored
 * operations (docs/detection.md). Profiles per account (with its VMs, methods, sources, user
 * agents, hours of the week, rates and, for automation, its cadence and VM set) and per VM (the
 * accounts that touch it). Pure data and pure helpers: the robust statistics, the local clock of
 * the baseline's zone and the cadence test the rules and the learner share. Every subject string
 * comes from logs, so profiles are keyed by `Map`, never by plain-object keys.
 */
import type { Principal } from "../model/operation.js";
import { offsetAt } from "../shared/zone.js";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** The fan-out window: distinct VMs per account are counted per fixed window of this length. */
export const FANOUT_WINDOW_MS = 10 * 60_000;
/** Operations of one account closer than this form one run (cadence learning, off-cadence). */
export const RUN_GAP_MS = 30 * 60_000;

/**
 * Robust summary of counts per window over the windows the subject was active in: `n` windows,
 * their median, median absolute deviation and maximum.
 */
export interface RateStats {
  readonly n: number;
  readonly median: number;
  readonly mad: number;
  readonly max: number;
}

/** How much history a profile entry rests on: operations, first and last time, distinct days. */
export interface Seen {
  readonly ops: number;
  /** Epoch ms. */
  readonly first: number;
  readonly last: number;
  /** Distinct local days with activity. */
  readonly days: number;
}

/** A recurring schedule: runs start every `periodMs`, at `phaseMs` into the period (local wall clock). */
export interface Cadence {
  readonly periodMs: number;
  readonly phaseMs: number;
  /** How far from the phase a run may start and still keep the cadence. */
  readonly toleranceMs: number;
  /** Runs the cadence was learned from, and the share of expected slots that had a run. */
  readonly runs: number;
  readonly coverage: number;
  /** Median number of distinct VMs per run. */
  readonly vmsPerRun: number;
}

export interface VmUse extends Seen {
  /** The VM as operations name it. */
  readonly name: string;
  /** Operations per active hour of the account on this VM. */
  readonly hourly: RateStats;
  /** Distinct days the account ran a discovery→collect or stage→run→collect sequence on it. */
  readonly sequenceDays: number;
}

export interface AccountProfile {
  /** The account key (principal id, domain aliases folded). */
  readonly account: string;
  readonly display: string;
  readonly kind: Principal["kind"];
  readonly seen: Seen;
  readonly hourly: RateStats;
  readonly daily: RateStats;
  /** Distinct VMs per fan-out window, over the windows the account was active in. */
  readonly fanout: RateStats;
  /** Per hour of the week (Monday 00:00 = 0, local time of the baseline's zone): distinct days active. */
  readonly hourOfWeek: readonly number[];
  readonly vms: ReadonlyMap<string, VmUse>;
  readonly methods: ReadonlyMap<string, Seen>;
  readonly sources: ReadonlyMap<string, Seen>;
  readonly agents: ReadonlyMap<string, Seen>;
  /** Distinct days with an exfiltration-shaped sequence (any VM). */
  readonly sequenceDays: number;
  /** Present for automation: a regular schedule was found. */
  readonly cadence?: Cadence;
}

export interface VmProfile {
  readonly vm: string;
  readonly name: string;
  readonly seen: Seen;
  /** Accounts that touched it, with their operation counts. */
  readonly accounts: ReadonlyMap<string, number>;
  /** Distinct hosts it ran on (DRS and vMotion move VMs: informational, never judged). */
  readonly hosts: number;
}

export interface Baseline {
  readonly version: 1;
  /** IANA zone of the hour-of-week and day profiles (the policy's default site). */
  readonly zone: string;
  /** Epoch ms: the history the baseline rests on (first and last operation learned). */
  readonly from: number;
  readonly to: number;
  /** When it was learned (epoch ms; set by the command, not by the learner). */
  readonly learnedAt: number;
  /** Operations learned, and those left out (in alerts of medium or higher, not accepted). */
  readonly operations: number;
  readonly excluded: { readonly operations: number; readonly alerts: number };
  readonly accounts: ReadonlyMap<string, AccountProfile>;
  readonly vms: ReadonlyMap<string, VmProfile>;
}

/** The account key of a principal: its id, the policy's domain aliases folded (as alert grouping does). */
export function accountKeyOf(
  principal: Principal,
  aliases: ReadonlyMap<string, string> = new Map(),
): string {
  const domain = principal.domain === undefined ? undefined : aliases.get(principal.domain);
  return domain === undefined ? principal.id : `${domain}\\${principal.user}`;
}

/** Local clock of an instant in `zone`: day number since 1970-01-01 (local), hour, hour of week. */
export function localClockOf(
  zone: string,
  ms: number,
): { day: number; hour: number; hourOfWeek: number; wallMs: number } {
  const offset = offsetAt(zone, ms);
  const wallMs = ms + (Number.isNaN(offset) ? 0 : offset) * 60_000;
  const day = Math.floor(wallMs / DAY_MS);
  const hour = Math.floor((wallMs - day * DAY_MS) / HOUR_MS);
  // 1970-01-01 was a Thursday: Monday is 0.
  const weekday = (((day + 3) % 7) + 7) % 7;
  return { day, hour, hourOfWeek: weekday * 24 + hour, wallMs };
}

/** Robust statistics of a histogram of counts (count → windows with that count). */
export function statsOf(histogram: ReadonlyMap<number, number>): RateStats {
  let n = 0;
  let max = 0;
  for (const [value, freq] of histogram) {
    n += freq;
    if (value > max) max = value;
  }
  if (n === 0) return { n: 0, median: 0, mad: 0, max: 0 };
  const median = weightedMedian(histogram, n);
  const deviations = new Map<number, number>();
  for (const [value, freq] of histogram) {
    const d = Math.abs(value - median);
    deviations.set(d, (deviations.get(d) ?? 0) + freq);
  }
  return { n, median, mad: weightedMedian(deviations, n), max };
}

function weightedMedian(histogram: ReadonlyMap<number, number>, n: number): number {
  const values = [...histogram.keys()].sort((a, b) => a - b);
  const lowRank = Math.floor((n - 1) / 2);
  const highRank = Math.floor(n / 2);
  let seen = 0;
  let low: number | undefined;
  for (const v of values) {
    seen += histogram.get(v) ?? 0;
    if (low === undefined && seen > lowRank) low = v;
    if (seen > highRank) return ((low ?? v) + v) / 2;
  }
  return values.at(-1) ?? 0;
}

/** Median of plain numbers (0 for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** The tuning of a robust limit (docs/detection.md, "Robust limits"). */
export interface LimitTuning {
  /** Robust standard deviations above the median. */
  readonly k: number;
  /** The scale is never below this share of the median... */
  readonly relativeFloor: number;
  /** ...nor below this absolute count. */
  readonly absoluteFloor: number;
}

export const DEFAULT_TUNING: LimitTuning = { k: 4, relativeFloor: 0.25, absoluteFloor: 3 };

/**
 * The highest count per window the history supports: `median + k · max(1.4826 · MAD,
 * relativeFloor · median, absoluteFloor)`, rounded down.
 */
export function upperLimit(stats: RateStats, tuning: LimitTuning = DEFAULT_TUNING): number {
  const scale = Math.max(
    1.4826 * stats.mad,
    tuning.relativeFloor * stats.median,
    tuning.absoluteFloor,
  );
  return Math.floor(stats.median + tuning.k * scale);
}

/** `median 10, MAD 1 over 412 active hours` */
export function statsText(stats: RateStats, unit: string): string {
  return `median ${round(stats.median)}, MAD ${round(stats.mad)}, highest ${stats.max}, over ${stats.n} active ${unit}${stats.n === 1 ? "" : "s"}`;
}

const round = (n: number): string => String(Math.round(n * 10) / 10);

/** Signed distance (ms) of a local wall time from the cadence's nearest slot. */
export function cadenceOffset(cadence: Cadence, wallMs: number): number {
  const p = cadence.periodMs;
  const r = (((wallMs - cadence.phaseMs) % p) + p) % p;
  return r > p / 2 ? r - p : r;
}

/** True when a run starting at `ms` keeps the cadence. */
export function keepsCadence(cadence: Cadence, zone: string, ms: number): boolean {
  return Math.abs(cadenceOffset(cadence, localClockOf(zone, ms).wallMs)) <= cadence.toleranceMs;
}

/** `every 24 h at 02:00`, `every 6 h at 00:00, 06:00, 12:00, 18:00` (local). */
export function cadenceText(cadence: Cadence): string {
  const p = cadence.periodMs;
  const hours = p / HOUR_MS;
  const period =
    p % DAY_MS === 0
      ? `every ${p / DAY_MS === 1 ? "day" : `${p / DAY_MS} days`}`
      : p % HOUR_MS === 0
        ? `every ${hours} h`
        : `every ${Math.round(p / 60_000)} min`;
  const slots: string[] = [];
  if (p <= DAY_MS && DAY_MS % p === 0) {
    for (let t = cadence.phaseMs % p; t < DAY_MS; t += p) slots.push(clock(t));
  } else slots.push(`${clock(cadence.phaseMs % DAY_MS)} (phase)`);
  const tol = Math.round(cadence.toleranceMs / 60_000);
  return `${period} at ${slots.slice(0, 6).join(", ")}${slots.length > 6 ? ", ..." : ""} (±${tol} min, local)`;
}

export function clock(msOfDay: number): string {
  const m = Math.floor((((msOfDay % DAY_MS) + DAY_MS) % DAY_MS) / 60_000);
  return `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
}

/** `30 days` / `5 hours`: a span of history in words. */
export function spanText(ms: number): string {
  if (ms >= 2 * DAY_MS) return `${Math.round(ms / DAY_MS)} days`;
  if (ms >= 2 * HOUR_MS) return `${Math.round(ms / HOUR_MS)} hours`;
  return `${Math.max(0, Math.round(ms / 60_000))} minutes`;
}

/** `2026-03-01` (UTC date of an instant). */
export const dateText = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The history a baseline rests on, as a reason states it. */
export function historyText(b: Baseline): string {
  return `baseline of ${b.operations} operations from ${dateText(b.from)} to ${dateText(b.to)} (${spanText(b.to - b.from)})`;
}

/** Identity of a VM as the baseline keys it (the same key as alert grouping: name first). */
export function vmKeyOf(vm: {
  readonly name?: string;
  readonly vmx?: string;
  readonly dir?: string;
  readonly moref?: string;
}): string {
  if (vm.name) return `n:${vm.name.toLowerCase()}`;
  if (vm.vmx) return `x:${vm.vmx}`;
  if (vm.dir) return `d:${vm.dir}`;
  if (vm.moref) return `m:${vm.moref}`;
  return "?";
}

export const HOW_LABELS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;

/** `Tue 14:00` for an hour of the week. */
export const hourOfWeekText = (how: number): string =>
  `${HOW_LABELS[Math.floor(how / 24) % 7] ?? "?"} ${String(how % 24).padStart(2, "0")}:00`;
