/**
 * The audit report as Markdown: the same sections as the HTML, tables in place of the charts, every
 * log-derived string through `escapeMarkdown`.
 */
import { coverageMarkdown, shortTime } from "../coverage.js";
import { escapeMarkdown } from "../escape.js";
import { percent, type AuditReport, type Rest } from "./model.js";

const m = escapeMarkdown;

function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
    "",
  ];
}

const rest = (r: Rest | undefined, what: string): string[] =>
  r ? [`${r.rows} more ${what}${r.operations ? ` with ${r.operations} operations` : ""}.`, ""] : [];

export function renderMarkdown(r: AuditReport): string {
  const h = r.headline;
  const out: string[] = [`# ${m(r.title)}`, ""];
  out.push(
    `Policy ${m(r.policy)}, site ${m(r.site)}, times in ${m(r.zone)}; ${r.inputs.files} inputs, ${r.inputs.records} records; evidence up to ${shortTime(r.coverage.asOf)}.`,
    "",
    "## Answers",
    "",
    ...r.answers.map((a) => `- ${m(a)}`),
    "",
  );
  out.push(
    ...table(
      ["Figure", "Value"],
      [
        ["Guest operations", String(h.operations)],
        ["Principals", String(h.principals)],
        ["VMs", String(h.vms)],
        ["Expected by policy", String(h.expected)],
        ["Not expected", String(h.unexpected)],
        ["Outside business hours", `${h.afterHours.count} (${percent(h.afterHours)})`],
        ["On critical VMs", `${h.critical.count} (${percent(h.critical)})`],
        ["Attributed", `${h.attributed.count} (${percent(h.attributed)})`],
        ["Incidents", String(h.incidents.total)],
        ["Alerts", String(h.alerts.total)],
        ...(h.alerts.excepted !== undefined
          ? [["Excepted (covered by exceptions)", String(h.alerts.excepted)]]
          : []),
      ],
    ),
  );
  out.push("## Incidents, most severe first", "");
  if (r.incidents.length === 0) out.push("No incident.", "");
  else {
    out.push(
      ...table(
        ["Severity", "Incident", "Principals", "VMs", "First", "Last", "Alerts"],
        r.incidents.map((i) => [
          i.severity,
          m(i.title),
          m(i.principals.join(", ")),
          m(i.vms.join(", ")),
          shortTime(i.first),
          shortTime(i.last),
          String(i.alerts),
        ]),
      ),
      ...rest(r.incidentsRest, "incidents"),
    );
  }
  out.push(
    "## Who",
    "",
    ...table(
      [
        "Principal",
        "Attribution",
        "Role",
        "Operations",
        "VMs",
        "Methods",
        "Local hours",
        "Not expected",
      ],
      r.principals.map((p) => [
        m(p.principal),
        p.level,
        m(p.role),
        String(p.operations),
        String(p.vms),
        m(p.methods.join(", ")),
        m(p.hours),
        String(p.unexpected),
      ]),
    ),
    ...rest(r.principalsRest, "principals"),
    "## Which VMs (critical tiers first)",
    "",
    ...table(
      ["VM", "Tier", "Operations", "Principals", "Methods", "Not expected"],
      r.vms.map((v) => [
        m(v.vm),
        m(v.tier ?? "-"),
        String(v.operations),
        String(v.principals),
        m(v.methods.join(", ")),
        String(v.unexpected),
      ]),
    ),
    ...rest(r.vmsRest, "VMs"),
    "## When",
    "",
    `Operations per ${r.timeline.unit}:`,
    "",
    ...table(
      [r.timeline.unit === "week" ? "Week of" : "Day", "Operations", "Not expected"],
      r.timeline.points.map((p) => [p.start, String(p.operations), String(p.unexpected)]),
    ),
    `Hour of week (${m(r.zone)}):`,
    "",
    ...table(
      ["Day", ...Array.from({ length: 24 }, (_, i) => String(i).padStart(2, "0"))],
      r.heatmap.map((row, d) => [
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][d] ?? "",
        ...row.map(String),
      ]),
    ),
    "## Alerts",
    "",
  );
  if (r.alerts.length === 0) out.push("No alert.", "");
  for (const a of r.alerts) {
    out.push(
      `### ${a.severity}: ${m(a.title)}`,
      "",
      `${m(a.principal)} on ${m(a.vm)}, ${a.count} operations, ${shortTime(a.first)} to ${shortTime(a.last)}.`,
      "",
      ...a.reasons.map((x) => `- ${m(x)}`),
      "",
      ...a.evidence.flatMap((x) => [`- evidence ${m(x.where)}: ${m(x.text)}`]),
      "",
    );
  }
  out.push(...rest(r.alertsRest, "alerts"));
  out.push(coverageMarkdown(r.coverage, 2));
  return `${out.join("\n").trimEnd()}\n`;
}
