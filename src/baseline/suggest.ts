/**
 * `guestops policy suggest`: a draft policy drawn from the baseline, as commented YAML that
 * `policy check` accepts (docs/policy.md). Every account line says what it rests on; roles are
 * guesses from behaviour; the critical tier is left for the user to fill in. Log-derived names
 * are written as double-quoted YAML scalars (JSON strings), and comments carry no control
 * characters, so no name can break out of its line.
 */
import { isIP } from "node:net";
import { guessRole } from "./describe.js";
import { dateText, DAY_MS, spanText, type AccountProfile, type Baseline } from "./model.js";

const q = (s: string): string => JSON.stringify(s);
/** Text safe inside a YAML comment: one line, no control characters. */
const c = (s: string): string =>
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
  s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, "?");
const pad = (n: number): string => String(n).padStart(2, "0");
/** The policy refuses names with control characters: such names are left out, and the draft says so. */
const printable = (s: string): boolean => c(s) === s;

/** Hours of the day (local) the account was active in, as contiguous spans. */
function activeSpans(p: AccountProfile): { start: number; end: number; days: number }[] {
  const byHour = new Array<number>(24).fill(0);
  p.hourOfWeek.forEach((n, how) => {
    byHour[how % 24] = (byHour[how % 24] ?? 0) + n;
  });
  const spans: { start: number; end: number; days: number }[] = [];
  for (let h = 0; h < 24; h++) {
    if ((byHour[h] ?? 0) === 0) continue;
    let end = h;
    while (end + 1 < 24 && (byHour[end + 1] ?? 0) > 0) end++;
    spans.push({
      start: h,
      end: end + 1,
      days: byHour.slice(h, end + 1).reduce((a, b) => a + b, 0),
    });
    h = end;
  }
  return spans;
}

/** Schedule names from account names: letters, digits and dashes only, unique. */
function scheduleName(display: string, used: Set<string>): string {
  const base =
    display
      .toLowerCase()
      .replace(/^.*\\/, "")
      .replace(/@.*$/, "")
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 40) || "account";
  let name = `${base}-hours`;
  for (let i = 2; used.has(name); i++) name = `${base}-hours-${i}`;
  used.add(name);
  return name;
}

export function suggestPolicy(b: Baseline, options: { store: string }): string {
  const out: string[] = [
    `# Draft guestops policy drawn from the baseline in ${c(options.store)}`,
    `# (learned ${new Date(b.learnedAt).toISOString()}, ${b.operations} operations from ${dateText(b.from)} to ${dateText(b.to)}, ${spanText(b.to - b.from)}).`,
    "# Every line says what it rests on. Roles are guesses from behaviour: review them, then check",
    "# the file with `guestops policy check FILE` and scan with it (docs/policy.md).",
    "version: 1",
    "",
    "sites:",
    "  - name: default",
    `    zone: ${q(b.zone)} # the zone the baseline was learned in`,
    "    default: true",
    "    # businessHours: fill in the site's working hours, e.g.",
    '    # - { days: mon-fri, start: "08:00", end: "18:00" }',
  ];
  const accounts = [...b.accounts.values()].sort(
    (x, y) => y.seen.ops - x.seen.ops || x.account.localeCompare(y.account),
  );
  const used = new Set<string>();
  const schedules: string[] = [];
  const accountLines: string[] = [];
  for (const p of accounts) {
    if (!printable(p.display)) {
      accountLines.push(
        `  # left out: an account whose name holds control characters (${c(p.display)}), ${p.seen.ops} operations`,
      );
      continue;
    }
    const role = guessRole(p);
    const history = `${p.seen.ops} operations on ${p.seen.days} days, ${dateText(p.seen.first)} to ${dateText(p.seen.last)}`;
    accountLines.push(`  # ${c(p.display)}: ${history}`);
    accountLines.push(`  - name: ${q(p.display)}`);
    accountLines.push(`    role: ${role.role} # guessed: ${role.why}`);
    const allVms = [...p.vms.values()].map((v) => v.name).sort();
    const vms = allVms.filter(printable);
    const shownVms = vms.slice(0, 200);
    const oddVms = allVms.length - vms.length;
    if (shownVms.length > 0) {
      accountLines.push(
        `    vms: [${shownVms.map(q).join(", ")}] # the ${allVms.length} VM(s) it touched${vms.length > shownVms.length ? ` (first ${shownVms.length} listed: use globs)` : ""}${oddVms > 0 ? ` (${oddVms} name(s) with control characters left out)` : ""}`,
      );
    } else {
      accountLines.push(
        `    # vms: none listed (${oddVms} name(s) with control characters left out): any VM outside the critical tier`,
      );
    }
    const methods = [...p.methods.keys()].filter((m) => m !== "unknown").sort();
    if (methods.length > 0) {
      accountLines.push(
        `    methods: [${methods.map(q).join(", ")}] # the methods it used (${[...p.methods.values()].reduce((n, s) => n + s.ops, 0)} operations)`,
      );
    }
    const sources = [...p.sources.keys()].filter((s) => isIP(s) !== 0).sort();
    const oddSources = p.sources.size - sources.length;
    if (sources.length > 0) {
      accountLines.push(
        `    sources: [${sources.map(q).join(", ")}] # the addresses it came from${oddSources > 0 ? ` (${oddSources} value(s) that are not addresses left out)` : ""}`,
      );
    } else {
      accountLines.push("    # sources: no client address was logged for this account");
    }
    if (role.role !== "admin") {
      const spans = activeSpans(p);
      if (spans.length > 0 && spans.length < 24) {
        const name = scheduleName(p.display, used);
        schedules.push(
          `  # the hours ${c(p.display)} worked in (local), over ${spanText(b.to - p.seen.first)}`,
        );
        schedules.push(`  - name: ${q(name)}`);
        schedules.push("    spans:");
        for (const s of spans) {
          schedules.push(
            `      - { days: daily, start: "${pad(s.start)}:00", end: "${pad(s.end)}:00" } # ${s.days} day-hour(s) of activity`,
          );
        }
        accountLines.push(`    allowedHours: ${q(name)} # its learned hours (schedule below)`);
      }
    } else {
      accountLines.push("    # judged by the site's business hours (a person)");
    }
    if (b.to - p.seen.first < 14 * DAY_MS) {
      accountLines.push(
        `    # little history: ${spanText(b.to - p.seen.first)}; review this entry`,
      );
    }
  }
  if (schedules.length > 0) out.push("", "schedules:", ...schedules);
  if (accountLines.length > 0) out.push("", "accounts:", ...accountLines);
  else out.push("", "# accounts: the baseline holds no attributed account yet");
  out.push(
    "",
    "# The critical tier is left to you: the VMs no account may touch unless granted by name",
    "# (domain controllers, PKI, backup servers). Uncomment and fill in:",
    "# tiers:",
    "#   - name: critical",
    '#     vms: ["dc*", "pki*"]',
    "",
  );
  return out.join("\n");
}
