/**
 * `guestops baseline diff`: what a new learning run would change in the stored baseline, account
 * by account: accounts added and gone, VMs, methods, sources and clients gained or lost, rate
 * limits and schedules that move. Log-derived names are escaped for the terminal.
 */
import { escapeTerminal } from "../report/escape.js";
import {
  cadenceText,
  dateText,
  DEFAULT_TUNING,
  spanText,
  upperLimit,
  type AccountProfile,
  type Baseline,
  type Seen,
} from "./model.js";

const e = escapeTerminal;

function setDiff(
  label: string,
  before: ReadonlyMap<string, Seen & { name?: string }>,
  after: ReadonlyMap<string, Seen & { name?: string }>,
): string[] {
  const added = [...after.keys()].filter((k) => !before.has(k));
  const gone = [...before.keys()].filter((k) => !after.has(k));
  const name = (m: ReadonlyMap<string, Seen & { name?: string }>, k: string) =>
    e(m.get(k)?.name ?? k);
  const out: string[] = [];
  const list = (keys: string[], m: typeof after) =>
    `${keys
      .slice(0, 6)
      .map((k) => name(m, k))
      .join(", ")}${keys.length > 6 ? `, +${keys.length - 6} more` : ""}`;
  if (added.length) out.push(`+${added.length} ${label}: ${list(added, after)}`);
  if (gone.length)
    out.push(`-${gone.length} ${label} (no longer in the history): ${list(gone, before)}`);
  return out;
}

export function accountChanges(before: AccountProfile, after: AccountProfile): string[] {
  const out = [
    ...setDiff("VM(s)", before.vms, after.vms),
    ...setDiff("method(s)", before.methods, after.methods),
    ...setDiff("source(s)", before.sources, after.sources),
    ...setDiff("client(s)", before.agents, after.agents),
  ];
  for (const [label, b, a] of [
    ["operations per hour", before.hourly, after.hourly],
    ["operations per day", before.daily, after.daily],
    ["VMs per 10 minutes", before.fanout, after.fanout],
  ] as const) {
    const lb = upperLimit(b, DEFAULT_TUNING);
    const la = upperLimit(a, DEFAULT_TUNING);
    if (lb !== la) out.push(`limit of ${label} ${lb} → ${la} (median ${b.median} → ${a.median})`);
  }
  const cb = before.cadence ? cadenceText(before.cadence) : "none";
  const ca = after.cadence ? cadenceText(after.cadence) : "none";
  if (cb !== ca) out.push(`schedule: ${cb} → ${ca}`);
  return out;
}

export function diffBaselines(before: Baseline | undefined, after: Baseline): string {
  const lines: string[] = [];
  const summary = (b: Baseline) =>
    `${b.operations} operations from ${dateText(b.from)} to ${dateText(b.to)} (${spanText(b.to - b.from)}), ${b.accounts.size} account(s), ${b.vms.size} VM(s)`;
  if (!before) {
    lines.push(`no baseline stored yet; a learning run would store ${summary(after)}`);
    for (const p of after.accounts.values())
      lines.push(`+ account ${e(p.display)} (${p.seen.ops} operations)`);
    return lines.join("\n");
  }
  lines.push(`stored: ${summary(before)}`, `new run: ${summary(after)}`);
  let unchanged = 0;
  const keys = [...new Set([...before.accounts.keys(), ...after.accounts.keys()])].sort();
  for (const key of keys) {
    const b = before.accounts.get(key);
    const a = after.accounts.get(key);
    if (!b && a)
      lines.push(`+ account ${e(a.display)} (${a.seen.ops} operations on ${a.seen.days} days)`);
    else if (b && !a)
      lines.push(`- account ${e(b.display)} (no longer in the history, or left out)`);
    else if (a && b) {
      const changes = accountChanges(b, a);
      if (changes.length === 0) {
        unchanged++;
        continue;
      }
      lines.push(`~ account ${e(a.display)}:`, ...changes.map((c) => `    ${c}`));
    }
  }
  const vmsAdded = [...after.vms.keys()].filter((k) => !before.vms.has(k)).length;
  const vmsGone = [...before.vms.keys()].filter((k) => !after.vms.has(k)).length;
  lines.push(`VMs: +${vmsAdded}, -${vmsGone}; ${unchanged} account(s) unchanged`);
  return lines.join("\n");
}
