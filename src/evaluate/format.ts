/** The evaluation as a table for people or one JSON document (docs/evaluation.md). */
import { escapeTerminal } from "../report/escape.js";
import { VERSION } from "../version.js";
import type { EvaluateResult } from "./index.js";
import type { Figures } from "./score.js";

export const EVALUATE_FORMATS = ["table", "json"] as const;
export type EvaluateFormat = (typeof EVALUATE_FORMATS)[number];

const pct = (v: number | null): string => (v === null ? "n/a" : `${(v * 100).toFixed(1)}%`);
const duration = (ms: number | undefined): string => {
  if (ms === undefined) return "-";
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
};

/** The document `--format json` prints. */
export function evaluationDocument(result: EvaluateResult): unknown {
  const { evaluation, labels, learning, analysis } = result;
  return {
    tool: { name: "guestops", version: VERSION },
    learning,
    period: evaluation.period,
    severity: evaluation.severity,
    labels: {
      operations: labels.operations.length,
      scenarios: labels.scenarios.size,
      problems: labels.problemCount,
      ...(labels.problems.length ? { firstProblems: labels.problems } : {}),
    },
    scan: {
      operations: analysis.inTimeRange,
      alerts: analysis.detection.alerts.length,
      incidents: analysis.detection.incidents.length,
      failures: analysis.detection.failures.length,
    },
    all: evaluation.all,
    verified: evaluation.verified,
  };
}

function figuresText(title: string, f: Figures): string[] {
  const out = [title];
  if (f.scenarios.length === 0) out.push("  no attack scenario in scope");
  else {
    const w = Math.max(8, ...f.scenarios.map((s) => s.id.length));
    out.push(`  ${"SCENARIO".padEnd(w)}  RESULT  OPS   ALERTS  INCIDENTS  TIME TO ALERT  RULES`);
    for (const s of f.scenarios) {
      out.push(
        `  ${escapeTerminal(s.id).padEnd(w)}  ${(s.caught ? "caught" : "MISSED").padEnd(6)}  ${String(s.operations).padEnd(4)}  ${String(s.alerts).padEnd(6)}  ${String(s.incidents).padEnd(9)}  ${duration(s.timeToAlertMs).padEnd(13)}  ${s.rules.join(", ") || "-"}`,
      );
    }
  }
  const a = f.alerts;
  out.push(`  attacks caught: ${f.attacks.caught} of ${f.attacks.total}`);
  out.push(
    `  alerts (medium+): ${a.counted}, true ${a.true}, false ${a.false}${a.unlabelled ? ` (${a.unlabelled} on unlabelled operations only)` : ""}; precision ${pct(a.precision)}`,
  );
  out.push(
    `  false alerts per 100 hosts per day: ${f.benignAlertsPer100HostsPerDay === null ? "n/a" : f.benignAlertsPer100HostsPerDay.toFixed(2)}`,
  );
  const at = f.attribution;
  out.push(`  attribution: right ${at.right}, wrong ${at.wrong}, unknown ${at.unknown}`);
  const o = f.operations;
  out.push(
    `  operations: ${o.labelled} labelled, ${o.found} found, ${o.missed} missed, ${o.doubleCounted} counted twice${o.unlabelled ? `, ${o.unlabelled} found but not labelled` : ""}${o.mixed ? `, ${o.mixed} joined records of two calls` : ""}`,
  );
  return out;
}

export function evaluationText(result: EvaluateResult): string {
  const { evaluation, labels, learning } = result;
  const p = evaluation.period;
  const lines = [
    `guestops ${VERSION} evaluate — ${labels.operations.length} labelled operations, ${p.hosts} hosts, ${p.days.toFixed(1)} days`,
    `learning: ${learning.note}`,
    ...(labels.problemCount
      ? [
          `labels: ${labels.problemCount} line(s) not understood (first: line ${labels.problems[0]?.line ?? 0}: ${escapeTerminal(labels.problems[0]?.reason ?? "")})`,
        ]
      : []),
    "",
    ...figuresText("All scenarios", evaluation.all),
    "",
    ...figuresText("Scenarios built only from verified formats", evaluation.verified),
  ];
  return `${lines.join("\n")}\n`;
}
