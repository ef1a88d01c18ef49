/**
 * The audit report as one self-contained HTML file: inline CSS (with a print stylesheet, a page
 * break before each section), inline SVG charts, no script, no external resource (a Content
 * Security Policy forbids any), every log-derived string through `escapeHtml`. Deterministic: the
 * same report gives the same bytes.
 */
import { VERSION } from "../../version.js";
import { shortTime, spanText } from "../coverage.js";
import { escapeHtml } from "../escape.js";
import { percent, type AuditReport, type Rest } from "./model.js";
import { heatmapSvg, timelineSvg } from "./svg.js";

const e = escapeHtml;

const CSS = `
:root { --fg: #111827; --muted: #4b5563; --line: #d1d5db; --ops: #60a5fa; --bad: #dc2626; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: var(--fg); margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; border-bottom: 2px solid var(--fg); padding-bottom: 4px; margin-top: 32px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta { color: var(--muted); margin: 0 0 12px; }
nav ol { columns: 2; margin: 8px 0 0; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 12px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.answers li { margin: 4px 0; font-size: 15px; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); gap: 8px; margin: 12px 0; }
.figures div { border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
.figures dt { color: var(--muted); font-size: 12px; }
.figures dd { margin: 0; font-size: 22px; font-weight: 600; }
.sev { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 12px; font-weight: 600; color: #fff; background: #6b7280; }
.sev-critical { background: #7f1d1d; } .sev-high { background: #dc2626; } .sev-medium { background: #d97706; }
.sev-low { background: #2563eb; } .sev-info { background: #6b7280; }
.sev-gap { background: #dc2626; } .sev-warning { background: #d97706; }
pre.evidence { white-space: pre-wrap; word-break: break-all; background: #f9fafb; border: 1px solid var(--line); padding: 4px 6px; margin: 2px 0; font-size: 11px; }
.chart { width: 100%; height: auto; max-width: 760px; display: block; }
.chart .axis { stroke: var(--muted); stroke-width: 1; }
.chart .tick { font-size: 10px; fill: var(--muted); }
.chart .ops { fill: var(--ops); } .chart .unexpected { fill: var(--bad); }
.legend span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px; }
.fix { color: var(--muted); }
.rest td { font-style: italic; color: var(--muted); }
@page { size: A4; margin: 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  nav { display: none; }
  section { break-before: page; }
  section.first { break-before: auto; }
  tr, pre.evidence, .figures div, svg { break-inside: avoid; }
  thead { display: table-header-group; }
  h2 { break-after: avoid; }
}
`;

const SECTIONS: readonly [string, string][] = [
  ["answers", "Answers"],
  ["incidents", "Incidents"],
  ["who", "Who"],
  ["vms", "Which VMs"],
  ["when", "When"],
  ["alerts", "Alerts"],
  ["coverage", "Logging coverage"],
];

const sev = (s: string): string => `<span class="sev sev-${e(s)}">${e(s)}</span>`;
const num = (n: number): string => `<td class="n">${n}</td>`;
const txt = (s: string | undefined): string => `<td>${s === undefined ? "-" : e(s)}</td>`;
const time = (s: string | undefined): string => `<td>${e(shortTime(s))}</td>`;

function table(
  id: string,
  head: readonly (readonly [string, boolean])[],
  rows: readonly string[],
  rest?: { text: string },
): string {
  const th = head.map(([h, n]) => `<th${n ? ' class="n"' : ""} scope="col">${e(h)}</th>`).join("");
  const tail = rest
    ? `<tr class="rest"><td colspan="${head.length}">${e(rest.text)}</td></tr>`
    : "";
  return `<table id="${id}"><thead><tr>${th}</tr></thead><tbody>${rows.join("\n")}${tail}</tbody></table>`;
}

const restText = (rest: Rest | undefined, what: string): { text: string } | undefined =>
  rest
    ? {
        text: `${rest.rows} more ${what}${rest.operations ? ` with ${rest.operations} operations` : ""} (see the JSON report for every row)`,
      }
    : undefined;

export function renderHtml(r: AuditReport): string {
  const h = r.headline;
  const out: string[] = [];
  const range = [
    r.since !== undefined ? `from ${shortTime(r.since)}` : "",
    r.until !== undefined ? `until ${shortTime(r.until)}` : "",
  ]
    .filter(Boolean)
    .join(" ");
  out.push(
    `<!DOCTYPE html>`,
    `<html lang="en"><head><meta charset="utf-8">`,
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<meta name="generator" content="guestops ${e(VERSION)}">`,
    `<title>${e(r.title)}</title><style>${CSS}</style></head><body>`,
    `<header><h1>${e(r.title)}</h1>`,
    `<p class="meta">Policy ${e(r.policy)} · site ${e(r.site)} · times in ${e(r.zone)}${range ? ` · ${e(range)}` : ""} · ${r.inputs.files} inputs, ${r.inputs.records} records · evidence up to ${e(shortTime(r.coverage.asOf))}</p>`,
    `<nav aria-label="Sections"><ol>${SECTIONS.map(([id, t]) => `<li><a href="#${id}">${e(t)}</a></li>`).join("")}</ol></nav></header>`,
  );

  // answers
  const figures: [string, string, string][] = [
    ["operations", "Guest operations", String(h.operations)],
    ["principals", "Principals", String(h.principals)],
    ["vms", "VMs", String(h.vms)],
    ["expected", "Expected by policy", String(h.expected)],
    ["unexpected", "Not expected", String(h.unexpected)],
    ["after-hours", "Outside business hours", `${h.afterHours.count} (${percent(h.afterHours)})`],
    ["critical", "On critical VMs", `${h.critical.count} (${percent(h.critical)})`],
    ["attributed", "Attributed", `${h.attributed.count} (${percent(h.attributed)})`],
    ["incidents", "Incidents", String(h.incidents.total)],
    ["alerts", "Alerts", String(h.alerts.total)],
  ];
  if (h.alerts.excepted !== undefined) {
    figures.push(["excepted", "Excepted (covered by exceptions)", String(h.alerts.excepted)]);
  }
  out.push(
    `<main><section id="answers" class="first"><h2>Answers</h2>`,
    `<ul class="answers">${r.answers.map((a) => `<li>${e(a)}</li>`).join("")}</ul>`,
    `<dl class="figures">${figures.map(([k, label, v]) => `<div><dt>${e(label)}</dt><dd data-figure="${k}">${e(v)}</dd></div>`).join("")}</dl>`,
  );
  if (h.unattributedReasons.length > 0) {
    out.push(
      `<h3>Why some operations are not attributed</h3>`,
      table(
        "unattributed",
        [
          ["Operations", true],
          ["Reason", false],
          ["What would fix it", false],
        ],
        h.unattributedReasons.map(
          (u) => `<tr>${num(u.operations)}${txt(u.reason)}<td class="fix">${e(u.advice)}</td></tr>`,
        ),
      ),
    );
  }
  out.push(`</section>`);

  // incidents
  out.push(`<section id="incidents"><h2>Incidents, most severe first</h2>`);
  out.push(
    r.incidents.length === 0
      ? `<p>No incident.</p>`
      : table(
          "incident-table",
          [
            ["Severity", false],
            ["Incident", false],
            ["Principals", false],
            ["VMs", false],
            ["First", false],
            ["Last", false],
            ["Alerts", true],
            ["Operations", true],
          ],
          r.incidents.map(
            (i) =>
              `<tr><td>${sev(i.severity)}</td>${txt(i.title)}${txt(i.principals.join(", "))}${txt(i.vms.join(", "))}${time(i.first)}${time(i.last)}${num(i.alerts)}${num(i.operations)}</tr>`,
          ),
          restText(r.incidentsRest, "incidents"),
        ),
    `</section>`,
  );

  // who
  out.push(
    `<section id="who"><h2>Who</h2>`,
    table(
      "principal-table",
      [
        ["Principal", false],
        ["Attribution", false],
        ["Role", false],
        ["Operations", true],
        ["VMs", true],
        ["Methods", false],
        ["Local hours", false],
        ["After hours", true],
        ["Expected", true],
        ["Not expected", true],
      ],
      r.principals.map(
        (p) =>
          `<tr>${txt(p.principal)}${txt(p.level)}${txt(p.role)}${num(p.operations)}${num(p.vms)}${txt(p.methods.join(", "))}${txt(p.hours)}${num(p.afterHours)}${num(p.expected)}${num(p.unexpected)}</tr>`,
      ),
      restText(r.principalsRest, "principals"),
    ),
    `</section>`,
  );

  // vms
  out.push(
    `<section id="vms"><h2>Which VMs (critical tiers first)</h2>`,
    table(
      "vm-table",
      [
        ["VM", false],
        ["Tier", false],
        ["Operations", true],
        ["Principals", true],
        ["Methods", false],
        ["Not expected", true],
        ["First", false],
        ["Last", false],
      ],
      r.vms.map(
        (v) =>
          `<tr>${txt(v.vm)}<td>${v.critical ? `<strong>${e(v.tier ?? "")}</strong>` : e(v.tier ?? "-")}</td>${num(v.operations)}${num(v.principals)}${txt(v.methods.join(", "))}${num(v.unexpected)}${time(v.first)}${time(v.last)}</tr>`,
      ),
      restText(r.vmsRest, "VMs"),
    ),
    `</section>`,
  );

  // when
  out.push(
    `<section id="when"><h2>When</h2>`,
    `<h3>Operations per ${r.timeline.unit}</h3>`,
    `<p class="legend"><span style="background:#60a5fa"></span>all operations<span style="background:#dc2626"></span>not expected by the policy</p>`,
    timelineSvg("timeline", r.timeline.unit, r.timeline.points),
    `<h3>Hour of week (${e(r.zone)})</h3>`,
    heatmapSvg("heatmap", r.zone, r.heatmap),
    `<details><summary>The hour-of-week figures as a table</summary>`,
    table(
      "heatmap-table",
      [
        ["Day", false],
        ...Array.from({ length: 24 }, (_, i) => [String(i).padStart(2, "0"), true] as const),
      ],
      r.heatmap.map(
        (row, d) =>
          `<tr><th scope="row">${["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][d]}</th>${row.map(num).join("")}</tr>`,
      ),
    ),
    `</details></section>`,
  );

  // alerts
  out.push(`<section id="alerts"><h2>Alerts, with their reasons and evidence</h2>`);
  out.push(
    r.alerts.length === 0
      ? `<p>No alert.</p>`
      : table(
          "alert-table",
          [
            ["Severity", false],
            ["Alert", false],
            ["Principal", false],
            ["VM", false],
            ["When", false],
            ["Ops", true],
            ["Reasons and evidence", false],
          ],
          r.alerts.map(
            (a) =>
              `<tr class="alert"><td>${sev(a.severity)}</td>${txt(a.title)}${txt(a.principal)}${txt(a.vm)}<td>${e(shortTime(a.first))}${a.last !== a.first ? `<br>${e(shortTime(a.last))}` : ""}</td>${num(a.count)}<td><ul>${a.reasons.map((x) => `<li>${e(x)}</li>`).join("")}</ul>${a.evidence.map((x) => `<pre class="evidence" title="${e(x.kind)}">${e(x.where)}\n${x.text.split("\n").map(e).join("\n")}</pre>`).join("")}</td></tr>`,
          ),
          restText(r.alertsRest, "alerts"),
        ),
    `</section>`,
  );

  // coverage
  const c = r.coverage;
  out.push(`<section id="coverage"><h2>Logging coverage</h2>`);
  out.push(
    `<ul class="answers">`,
    c.firstEvidence !== undefined
      ? `<li>Guest operations can be evidenced from <strong data-figure="first-evidence">${e(shortTime(c.firstEvidence))}</strong> on (${c.firstBySource.map((f) => `${e(f.source)} from ${e(shortTime(f.first))}`).join(", ")}).</li>`
      : `<li>No record that could evidence a guest operation is held.</li>`,
    c.requiredFrom !== undefined
      ? `<li>The policy requires ${c.retentionDays} days of evidence: from ${e(shortTime(c.requiredFrom))}.</li>`
      : `<li>The policy sets no retention requirement.</li>`,
    `<li>${c.findings.filter((f) => f.severity === "gap").length} gaps and ${c.findings.filter((f) => f.severity === "warning").length} warnings, each with its fix below.</li>`,
    `</ul>`,
    `<h3>Findings</h3>`,
    c.findings.length === 0
      ? `<p>No finding.</p>`
      : table(
          "finding-table",
          [
            ["Kind", false],
            ["Finding", false],
            ["Fix", false],
          ],
          c.findings.map(
            (f) =>
              `<tr><td>${sev(f.severity)}</td>${txt(f.message)}<td class="fix">${f.fix.map((x) => e(x)).join("<br>")}</td></tr>`,
          ),
        ),
    `<h3>Hosts</h3>`,
    table(
      "host-table",
      [
        ["Host or vCenter", false],
        ["Sources", false],
        ["First", false],
        ["Last", false],
        ["Operations", true],
        ["Attributed", true],
      ],
      c.hosts
        .slice(0, 200)
        .map(
          (x) =>
            `<tr>${txt(x.host)}${txt(x.sources.join(", "))}${time(x.first)}${time(x.last)}${num(x.operations)}<td class="n">${x.attributed === null ? "-" : `${Math.round(x.attributed * 100)}%`}</td></tr>`,
        ),
      c.hosts.length > 200 ? { text: `${c.hosts.length - 200} more hosts` } : undefined,
    ),
    `<h3>Sources per host</h3>`,
    table(
      "source-table",
      [
        ["Host", false],
        ["Source", false],
        ["Records", true],
        ["First", false],
        ["Last", false],
        [`Silences over ${spanText(c.thresholds.gapMs)}`, true],
      ],
      c.sources
        .slice(0, 400)
        .map(
          (s) =>
            `<tr>${txt(s.host)}${txt(s.source)}${num(s.records)}${time(s.first)}${time(s.last)}${num(s.gaps.length)}</tr>`,
        ),
      c.sources.length > 400 ? { text: `${c.sources.length - 400} more rows` } : undefined,
    ),
  );
  if (c.skew.length > 0) {
    out.push(
      `<h3>Clock offsets between sources</h3>`,
      table(
        "skew-table",
        [
          ["Host", false],
          ["Source", false],
          ["Against", false],
          ["Operations", true],
          ["Median offset", true],
        ],
        c.skew
          .slice(0, 200)
          .map(
            (s) =>
              `<tr>${txt(s.host)}${txt(s.source)}${txt(s.reference)}${num(s.operations)}<td class="n">${(s.medianMs / 1000).toFixed(3)} s</td></tr>`,
          ),
      ),
    );
  }
  out.push(
    `</section></main>`,
    `<footer><p class="meta">guestops ${e(VERSION)} · report ${e(r.schema)}</p></footer>`,
    `</body></html>`,
    "",
  );
  return out.join("\n");
}
