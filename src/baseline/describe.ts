/**
 * `guestops baseline show`: each profile in plain words, with its age and the history it rests on.
 * Log-derived names are escaped for the terminal.
 */
import { escapeTerminal } from "../report/escape.js";
import {
  cadenceText,
  dateText,
  DEFAULT_TUNING,
  FANOUT_WINDOW_MS,
  spanText,
  upperLimit,
  type AccountProfile,
  type Baseline,
  type RateStats,
  type Seen,
} from "./model.js";

const e = escapeTerminal;

/** The busiest entries of a map of `Seen`, with counts. */
function top(map: ReadonlyMap<string, Seen & { name?: string }>, max: number): string {
  const all = [...map.entries()].sort((a, b) => b[1].ops - a[1].ops || a[0].localeCompare(b[0]));
  const shown = all
    .slice(0, max)
    .map(([k, v]) => `${e(v.name ?? k)} (${v.ops} ops, ${v.days} day${v.days === 1 ? "" : "s"})`);
  return `${shown.join(", ")}${all.length > max ? `, +${all.length - max} more` : ""}`;
}

function rate(stats: RateStats, unit: string): string {
  if (stats.n === 0) return `no ${unit}s`;
  return `median ${stats.median} per ${unit} (MAD ${stats.mad}, highest ${stats.max}, up to ${upperLimit(stats, DEFAULT_TUNING)} supported, over ${stats.n} active ${unit}s)`;
}

/** Hours of the day (local) the account worked in, as ranges with the days seen. */
export function hoursText(profile: AccountProfile): string {
  const byHour = new Array<number>(24).fill(0);
  profile.hourOfWeek.forEach((n, how) => {
    byHour[how % 24] = (byHour[how % 24] ?? 0) + n;
  });
  const parts: string[] = [];
  for (let h = 0; h < 24; h++) {
    if ((byHour[h] ?? 0) === 0) continue;
    let end = h;
    while (end + 1 < 24 && (byHour[end + 1] ?? 0) > 0) end++;
    const days = byHour.slice(h, end + 1).reduce((a, b) => a + b, 0);
    parts.push(`${pad(h)}:00-${pad(end + 1)}:00 (${days} day-hours)`);
    h = end;
  }
  return parts.join(", ") || "none";
}

const pad = (n: number): string => String(n).padStart(2, "0");

/** What the account's behaviour suggests it is (also used by `policy suggest`). */
export function guessRole(p: AccountProfile): {
  role: "admin" | "automation" | "backup" | "monitoring" | "service";
  why: string;
} {
  const methods = [...p.methods.keys()];
  const queriesOnly = methods.every((m) => /^List|^Read|Validate|Acquire|Release/.test(m));
  const pulls = p.methods.has("InitiateFileTransferFromGuest");
  if (p.cadence) {
    if (queriesOnly) return { role: "monitoring", why: "runs on a schedule and only queries" };
    if (pulls) {
      return { role: "backup", why: "runs on a schedule and pulls files out of guests" };
    }
    return { role: "automation", why: "runs on a schedule" };
  }
  if (p.kind === "vcenter-solution") return { role: "service", why: "a vCenter solution account" };
  const dayHours = p.hourOfWeek.reduce(
    (n, v, how) => n + (how % 24 >= 7 && how % 24 < 19 ? v : 0),
    0,
  );
  if (dayHours === 0 && p.seen.ops > 0) {
    return pulls
      ? { role: "backup", why: "works only at night (19:00-07:00) and pulls files out of guests" }
      : { role: "automation", why: "works only at night (19:00-07:00)" };
  }
  if (queriesOnly) return { role: "monitoring", why: "only queries, no schedule found" };
  return { role: "admin", why: "works without a schedule (a person, or ad-hoc scripts)" };
}

export function describeAccount(p: AccountProfile, b: Baseline): string[] {
  const role = guessRole(p);
  const age = spanText(b.to - p.seen.first);
  const lines = [
    `${e(p.display)} — looks like ${role.role === "admin" ? "an admin" : `${role.role}`}: ${role.why}`,
    `  history: ${p.seen.ops} operations on ${p.seen.days} day(s), ${dateText(p.seen.first)} to ${dateText(p.seen.last)} (profile age ${age})`,
  ];
  if (p.cadence) {
    lines.push(
      `  schedule: ${cadenceText(p.cadence)}; ${p.cadence.runs} runs, ${Math.round(p.cadence.coverage * 100)}% of slots kept, usually ${p.cadence.vmsPerRun} VM(s) per run`,
    );
  }
  lines.push(
    `  VMs (${p.vms.size}): ${top(p.vms, 6)}`,
    `  methods: ${top(p.methods, 8)}`,
    `  sources: ${p.sources.size > 0 ? top(p.sources, 4) : "none in the logs"}`,
    `  clients: ${p.agents.size > 0 ? top(p.agents, 4) : "none in the logs"}`,
    `  hours (${b.zone}): ${hoursText(p)}`,
    `  rates: ${rate(p.hourly, "hour")}; ${rate(p.daily, "day")}`,
    `  fan-out: distinct VMs per ${FANOUT_WINDOW_MS / 60_000} minutes ${rate(p.fanout, "window").replace(/ per window/, "")}`,
    `  exfiltration-shaped sequences: on ${p.sequenceDays} day(s)`,
  );
  return lines;
}

export function describeBaseline(
  b: Baseline,
  options: { now: number; account?: (p: AccountProfile) => boolean },
): string {
  const lines = [
    `baseline: learned ${new Date(b.learnedAt).toISOString()} (${spanText(Math.max(0, options.now - b.learnedAt))} ago), zone ${b.zone}`,
    b.operations > 0
      ? `  rests on ${b.operations} operations from ${dateText(b.from)} to ${dateText(b.to)} (${spanText(b.to - b.from)})`
      : "  rests on no operation: the store held no attributed operation with a time (ingest logs, then learn again)",
    `  left out: ${b.excluded.operations} operation(s) of ${b.excluded.alerts} alert(s) of medium or higher severity (guestops baseline accept ALERT-ID learns an alert as normal)`,
    `  ${b.accounts.size} account(s), ${[...b.accounts.values()].filter((p) => p.cadence).length} with a schedule; ${b.vms.size} VM(s), ${[...b.vms.values()].filter((v) => v.hosts > 1).length} of them seen on more than one host (DRS, vMotion: never judged)`,
  ];
  const shown = [...b.accounts.values()]
    .filter((p) => options.account?.(p) ?? true)
    .sort((x, y) => y.seen.ops - x.seen.ops || x.account.localeCompare(y.account));
  for (const p of shown) lines.push("", ...describeAccount(p, b));
  return lines.join("\n");
}
