/**
 * Loss as `/metrics` shows it, from the live coverage report: per vCenter the event keys never
 * received (settled holes only), per host the hostd event numbers unseen (possible loss: hostd
 * numbers every event type) and the forwarding failures and lost messages the host reported.
 * Gauges: a late event that fills a hole lowers them. Label values are host and vCenter names from
 * the logs (escaped; at most `MAX_SERIES` per family, the rest summed under `other="true"`).
 */
import type { CoverageReport } from "../coverage/findings.js";

/** Series per family at most: forged host names cannot grow a scrape without bound. */
export const MAX_SERIES = 500;

const label = (v: string): string =>
  v.replace(/[\\"\n]/g, (ch) => (ch === "\n" ? "\\n" : `\\${ch}`));

export function lossMetrics(report: CoverageReport): string {
  const out: string[] = [];
  const family = (
    name: string,
    help: string,
    key: string,
    rows: readonly (readonly [string, number])[],
  ): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    let other = 0;
    let others = false;
    rows.forEach(([who, value], i) => {
      if (i < MAX_SERIES) out.push(`${name}{${key}="${label(who)}"} ${value}`);
      else {
        other += value;
        others = true;
      }
    });
    if (others) out.push(`${name}{other="true"} ${other}`);
  };
  family(
    "guestops_coverage_vcenter_event_keys_missing",
    "vCenter event keys never received between received ones (lost events), per vCenter.",
    "vcenter",
    report.vcenterKeys.map((v) => [v.vcenter, v.missing]),
  );
  family(
    "guestops_coverage_vcenter_event_keys_received",
    "Distinct vCenter event keys received, per vCenter.",
    "vcenter",
    report.vcenterKeys.map((v) => [v.vcenter, v.received]),
  );
  family(
    "guestops_coverage_hostd_event_numbers_unseen",
    "hostd event numbers between kept events not seen (possible loss), per host.",
    "host",
    report.events.map((h) => [h.host, h.sequences.reduce((n, s) => n + s.missing, 0)]),
  );
  const failures = (kind: string): [string, number][] =>
    report.loggingFailures.filter((f) => f.kind === kind).map((f) => [f.host, f.reports]);
  family(
    "guestops_coverage_remote_logging_failures",
    "Reports of a remote log host unreachable (esx.problem.vmsyslogd.remote.failure), per host.",
    "host",
    failures("esx.remote-failure"),
  );
  family(
    "guestops_coverage_log_messages_lost",
    "Log messages the host reported lost, per host.",
    "host",
    report.loggingFailures
      .filter((f) => f.kind === "esx.messages-lost")
      .map((f) => [f.host, f.lost ?? 0]),
  );
  family("guestops_coverage_findings", "Coverage findings, by kind.", "kind", [
    ...countBy(report.findings.map((f) => f.kind)),
  ]);
  return `${out.join("\n")}\n`;
}

function countBy(values: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return new Map([...m].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}
