/**
 * `guestops policy check`'s text: the policy as understood, with maintenance windows expanded for
 * the next N days in local time (UTC in brackets).
 */
import { BUILTIN_RULES } from "../detect/registry.js";
import { ruleOptions } from "../policy/evaluate.js";
import {
  describeOccurrence,
  describeSchedule,
  formatLocalLong,
  formatUtc,
  ROLE_DEFAULT_METHODS,
  policyWarnings,
  windowOccurrences,
  type AccountPolicy,
  type MaintenanceWindow,
  type MethodGrant,
  type Policy,
  type Schedule,
  type VmGrant,
} from "../policy/index.js";
import { escapeTerminal } from "./escape.js";

const DAY = 86_400_000;

const e = (text: string): string => escapeTerminal(text);

const grantText = (g: MethodGrant): string => (g.kind === "api" ? g.api : g.category);
const vmGrantText = (g: VmGrant): string => (g.kind === "tier" ? `tier:${g.tier}` : g.pattern);

function hoursText(a: AccountPolicy): string {
  if (a.allowedHours) return scheduleText(a.allowedHours);
  return a.role === "admin" ? "business hours of the site (default)" : "any time (default)";
}

function scheduleText(s: Schedule): string {
  const named = s.name.startsWith("allowed hours of ") ? "" : `${e(s.name)}: `;
  return `${named}${describeSchedule(s)}${s.excludeHolidays ? " (not on holidays)" : ""}`;
}

function methodsText(a: AccountPolicy): string {
  if (a.methods) return a.methods.map(grantText).join(", ");
  const d = ROLE_DEFAULT_METHODS.get(a.role);
  return d === undefined || d === "all"
    ? "every method (role default)"
    : `${d.map(grantText).join(", ")} (role default)`;
}

function timingText(w: MaintenanceWindow): string {
  const t = w.timing;
  switch (t.kind) {
    case "once":
      return `once, ${describeOccurrence(w.zone, t)}`;
    case "weekly":
      return `weekly ${describeSchedule(t.schedule)} ${w.zone}${t.from ? ` from ${t.from}` : ""}${t.until ? ` until ${t.until}` : ""}`;
    case "rrule":
      return `RRULE ${e(t.rrule)} from ${t.dtstart} (${t.durationMinutes} min) ${w.zone}${t.exdates.length ? `, except ${t.exdates.join(", ")}` : ""}`;
    case "ics": {
      const ev = t.events[0];
      const rule = ev?.rrule ? ` RRULE ${e(ev.rrule)}` : "";
      return `iCalendar ${e(t.file)}${ev ? ` (UID ${e(ev.uid)}, from ${ev.dtstart} ${ev.zone}${rule})` : ""}`;
    }
  }
}

export function renderPolicy(policy: Policy, nowMs: number, days: number): string {
  const out: string[] = [];
  const push = (line = ""): void => void out.push(line);
  push(`policy ${e(policy.source ?? "(built-in default)")}: valid`);
  push();
  push(`sites (${policy.sites.length})`);
  for (const s of policy.sites) {
    push(
      `  ${e(s.name)}${s.isDefault ? " (default)" : ""}  zone ${s.zone}  now ${formatLocalLong(s.zone, nowMs)}`,
    );
    if (s.vcenters.length) push(`    vcenters: ${s.vcenters.map(e).join(", ")}`);
    if (s.hosts.length) push(`    hosts: ${s.hosts.map(e).join(", ")}`);
    push(`    business hours: ${describeSchedule(s.businessHours)} (not on holidays)`);
    if (s.holidays.length) {
      const hs = s.holidays.map(
        (h) =>
          `${h.date}${h.date.length === 5 ? " every year" : ""}${h.name ? ` ${e(h.name)}` : ""}`,
      );
      push(`    holidays: ${hs.join(", ")}`);
    }
  }
  if (policy.domainAliases.size) {
    const groups = new Map<string, string[]>();
    for (const [alias, canon] of policy.domainAliases) {
      groups.set(canon, [...(groups.get(canon) ?? []), alias]);
    }
    push();
    push(`domain aliases: ${[...groups.values()].map((g) => g.map(e).join(" = ")).join("; ")}`);
  }
  if (policy.schedules.size) {
    push();
    push(`schedules (${policy.schedules.size})`);
    for (const s of policy.schedules.values()) push(`  ${scheduleText(s)}`);
  }
  push();
  push(
    `accounts (${policy.accounts.length})${policy.accounts.length ? "" : ": none — every account is unexpected"}`,
  );
  for (const a of policy.accounts) {
    push(`  ${e(a.pattern)}  ${a.role}${a.isGlob ? "  (glob)" : `  (matches ${e(a.id)})`}`);
    if (a.description) push(`    ${e(a.description)}`);
    push(`    methods: ${methodsText(a)}`);
    push(
      `    vms: ${a.vms ? a.vms.map((g) => e(vmGrantText(g))).join(", ") : "every VM outside the critical tier (default)"}`,
    );
    push(`    hours: ${hoursText(a)}`);
    push(`    sources: ${a.sources ? a.sources.map((c) => c.text).join(", ") : "any (default)"}`);
  }
  push();
  push(
    `tiers (${policy.tiers.length})${policy.tiers.some((t) => t.name === "critical") ? "" : ": no critical tier — sensitive-vm has nothing to protect"}`,
  );
  for (const t of policy.tiers) push(`  ${e(t.name)}: ${t.vms.map(e).join(", ")}`);
  push();
  push(
    `vCenter addresses: ${policy.vcenterAddresses
      .map((c) =>
        c.text === "127.0.0.0/8" || c.text === "::1/128" ? `${c.text} (loopback)` : c.text,
      )
      .join(", ")}`,
  );
  push();
  push("rules");
  for (const rule of BUILTIN_RULES) {
    const id = rule.meta.id;
    const s = policy.rules.get(id);
    const state = s?.enabled === false ? "disabled" : "enabled";
    const sev = s?.severity ? `, severity ${s.severity}` : "";
    const options = Object.entries(ruleOptions(policy, id, rule.meta.options));
    const extra = options.map(([k, v]) => `, ${k} ${e(String(v))}`).join("");
    push(`  ${id}: ${state}${sev}${extra}`);
  }
  push(`  alert grouping gap: ${policy.groupingGapMs / 60_000} min`);
  const cov = policy.coverage;
  push(
    `coverage: retention ${cov.retentionMs !== undefined ? `${cov.retentionMs / 86_400_000} d` : "not required"}, silent gap ${cov.gapMs / 3_600_000} h, clock skew ${cov.skewMs / 1000} s, hostd event gap ${cov.eventGap}`,
  );
  push();
  const until = nowMs + days * DAY;
  push(
    `windows (${policy.windows.length}), occurrences from ${formatUtc(nowMs)} for ${days} day${days === 1 ? "" : "s"}`,
  );
  for (const w of policy.windows) {
    push(`  ${e(w.ref)}${w.description ? ` "${e(w.description)}"` : ""}`);
    push(`    ${timingText(w)}`);
    const scope = [
      `site ${w.site ? e(w.site) : "any"}`,
      `accounts ${w.accounts ? w.accounts.map(e).join(", ") : "any listed in accounts:"}`,
      `vms ${w.vms ? w.vms.map((g) => e(vmGrantText(g))).join(", ") : "any"}`,
      `hosts ${w.hosts ? w.hosts.map(e).join(", ") : "any"}`,
      `methods ${w.methods ? w.methods.map(grantText).join(", ") : "any"}`,
    ];
    push(`    scope: ${scope.join("; ")}`);
    const occ = windowOccurrences(w, nowMs, until);
    if (occ.length === 0) push("    (no occurrence in this period)");
    const shown = occ.slice(0, 50);
    for (const o of shown) {
      push(`    ${describeOccurrence(w.zone, o)}  [${formatUtc(o.start)} – ${formatUtc(o.end)}]`);
    }
    if (occ.length > shown.length) push(`    … ${occ.length - shown.length} more`);
  }
  if (policy.exceptions.length > 0) {
    push();
    push(`exceptions (${policy.exceptions.length})`);
    for (const x of policy.exceptions) {
      const state = x.expiresMs <= nowMs ? " (expired)" : "";
      push(`  ${e(x.ticket)}: owner ${e(x.owner)}, until ${formatUtc(x.expiresMs)}${state}`);
      const scope = [
        `rules ${x.rules ? x.rules.join(", ") : "any"}`,
        `accounts ${x.accounts ? x.accounts.map(e).join(", ") : "any, unattributed included"}`,
        `vms ${x.vms ? x.vms.map((g) => e(vmGrantText(g))).join(", ") : "any"}`,
        `hosts ${x.hosts ? x.hosts.map(e).join(", ") : "any"}`,
        `methods ${x.methods ? x.methods.map(grantText).join(", ") : "any"}`,
      ];
      push(`    covers: ${scope.join("; ")}`);
      if (x.reason !== undefined) push(`    reason: ${e(x.reason)}`);
    }
  }
  const warnings = policyWarnings(policy);
  if (warnings.length > 0) {
    push();
    push(`warnings (${warnings.length})`);
    for (const w of warnings) push(`  ${e(w)}`);
  }
  return out.join("\n");
}
