/**
 * From gathered coverage to findings, each with its fix: absent and silent sources, hostd event
 * numbers that jump (possible loss) or restart, hosts whose operations cannot be attributed,
 * methods vmware.log shows that hostd does not, clock skew, evidence shorter than the policy's
 * retention, and the date from which guest operations can be evidenced at all. Pure: the
 * reference instant comes from the caller (`asOf`) or from the newest record, never the clock.
 */
import type { AttributionSummary } from "../attribute/summary.js";
import { isCritical } from "../policy/evaluate.js";
import type { Policy } from "../policy/types.js";
import {
  COVERAGE_SOURCES,
  NO_HOST,
  type CoverageData,
  type CoverageSource,
  type KeyGap,
  type VmEvidence,
} from "./collect.js";
import { FIX, FIX_FOR_SOURCE } from "./fixes.js";

export const FINDING_SEVERITIES = ["gap", "warning", "info"] as const;
export type FindingSeverity = (typeof FINDING_SEVERITIES)[number];

export type FindingKind =
  | "source-absent"
  | "source-missing-on-hosts"
  | "silent-gap"
  | "stopped-early"
  | "event-gap"
  | "vcenter-event-gap"
  | "remote-logging-failed"
  | "log-messages-lost"
  | "hostd-restart"
  | "unattributed"
  | "no-host"
  | "hostd-silent-method"
  | "clock-skew"
  | "untimed"
  | "retention-short"
  | "retention-short-vms"
  | "critical-vm-guest-ops"
  | "files-out-of-guests";

export interface CoverageFinding {
  readonly kind: FindingKind;
  readonly severity: FindingSeverity;
  readonly host?: string;
  readonly source?: CoverageSource;
  /** What was found, in plain words (log-derived names inside: escape on output). */
  readonly message: string;
  /** What closes the gap. */
  readonly fix: readonly string[];
}

export interface HostSummary {
  readonly host: string;
  readonly sources: readonly CoverageSource[];
  readonly first?: string;
  readonly last?: string;
  readonly operations: number;
  /** (exact + correlated) / operations; null without operations. */
  readonly attributed: number | null;
}

export interface CoverageReport extends CoverageData {
  /** The instant the retention is measured back from (`--as-of`, else the newest record). */
  readonly asOf?: string;
  /** The policy's retention in days, and the date evidence must reach back to. */
  readonly retentionDays?: number;
  readonly requiredFrom?: string;
  /** The earliest record of any source: guest operations can be evidenced from then on. */
  readonly firstEvidence?: string;
  readonly firstBySource: readonly { readonly source: CoverageSource; readonly first: string }[];
  readonly hosts: readonly HostSummary[];
  readonly thresholds: {
    readonly gapMs: number;
    readonly skewMs: number;
    readonly eventGap: number;
    readonly vcenterEventGap: number;
  };
  readonly findings: readonly CoverageFinding[];
}

const DAY = 86_400_000;
const days = (ms: number): string => {
  const d = ms / DAY;
  return d >= 10
    ? `${Math.round(d)} d`
    : d >= 1
      ? `${d.toFixed(1)} d`
      : `${(ms / 3_600_000).toFixed(1)} h`;
};
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
const listed = (names: readonly string[], max = 8): string =>
  names.length <= max
    ? names.join(", ")
    : `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const minIso = (a: string | undefined, b: string | undefined): string | undefined =>
  a === undefined ? b : b === undefined ? a : a < b ? a : b;
const maxIso = (a: string | undefined, b: string | undefined): string | undefined =>
  a === undefined ? b : b === undefined ? a : a > b ? a : b;

export interface CoverageOptions {
  /** Epoch ms the retention is measured back from; default: the newest record held. */
  readonly asOf?: number;
}

export function coverageReport(
  data: CoverageData,
  attribution: AttributionSummary,
  policy: Policy,
  options: CoverageOptions = {},
): CoverageReport {
  const { gapMs, skewMs, eventGap, vcenterEventGap, retentionMs } = policy.coverage;
  const findings: CoverageFinding[] = [];
  const add = (f: CoverageFinding): void => void findings.push(f);

  // per host: sources, span, attribution
  const byHost = new Map<
    string,
    { sources: Set<CoverageSource>; first: string | undefined; last: string | undefined }
  >();
  let first: string | undefined;
  let last: string | undefined;
  const firstBySource = new Map<CoverageSource, string>();
  for (const row of data.sources) {
    const h = byHost.get(row.host) ?? {
      sources: new Set<CoverageSource>(),
      first: undefined,
      last: undefined,
    };
    h.sources.add(row.source);
    h.first = minIso(h.first, row.first);
    h.last = maxIso(h.last, row.last);
    byHost.set(row.host, h);
    first = minIso(first, row.first);
    last = maxIso(last, row.last);
    if (row.first !== undefined) {
      const known = firstBySource.get(row.source);
      if (known === undefined || row.first < known) firstBySource.set(row.source, row.first);
    }
  }
  const attributionOf = new Map(attribution.perHost.map((h) => [h.host, h]));
  const hosts: HostSummary[] = [...byHost.entries()]
    .sort((a, b) => cmp(a[0], b[0]))
    .map(([host, h]) => {
      const a = attributionOf.get(host);
      return {
        host,
        sources: COVERAGE_SOURCES.filter((s) => h.sources.has(s)),
        ...(h.first !== undefined ? { first: h.first } : {}),
        ...(h.last !== undefined ? { last: h.last } : {}),
        operations: a?.operations ?? 0,
        attributed: a?.coverage ?? null,
      };
    });

  // sources absent everywhere, or on some hosts (ESXi hosts: those with hostd or vmware.log)
  const seen = new Set(data.sources.map((r) => r.source));
  for (const source of COVERAGE_SOURCES) {
    if (seen.has(source)) continue;
    add({
      kind: "source-absent",
      severity: source === "vmware.log" || source === "vpxd" ? "warning" : "gap",
      source,
      message: `no ${recordsOf(source)} at all: ${ABSENT_MEANS.get(source) ?? ""}`,
      fix: FIX_FOR_SOURCE.get(source) ?? [],
    });
  }
  const esxHosts = hosts.filter(
    (h) => h.host !== NO_HOST && (h.sources.includes("hostd") || h.sources.includes("vmware.log")),
  );
  for (const source of ["hostd", "audit records"] as const) {
    if (!seen.has(source)) continue;
    const lacking = esxHosts.filter((h) => !h.sources.includes(source)).map((h) => h.host);
    if (lacking.length === 0) continue;
    add({
      kind: "source-missing-on-hosts",
      severity: "gap",
      source,
      message: `${plural(lacking.length, "host")} of ${esxHosts.length} have no ${recordsOf(source)}: ${listed(lacking)}`,
      fix: FIX_FOR_SOURCE.get(source) ?? [],
    });
  }

  // silences inside a source, and sources that stop long before the host's other evidence
  for (const row of data.sources) {
    if (row.gaps.length > 0) {
      const longest = row.gaps.reduce((a, b) => (b.ms > a.ms ? b : a));
      add({
        kind: "silent-gap",
        severity: "gap",
        host: row.host,
        source: row.source,
        message: `${row.source} on ${row.host}: silent ${plural(row.gaps.length, "time")} for more than ${days(gapMs)}; longest ${days(longest.ms)} from ${longest.from} to ${longest.to}`,
        fix: [...(FIX_FOR_SOURCE.get(row.source) ?? []), FIX.retention],
      });
    }
    const host = byHost.get(row.host);
    if (row.last !== undefined && host?.last !== undefined) {
      const stop = Date.parse(host.last) - Date.parse(row.last);
      if (stop > gapMs) {
        add({
          kind: "stopped-early",
          severity: "gap",
          host: row.host,
          source: row.source,
          message: `${row.source} on ${row.host} ends at ${row.last}, ${days(stop)} before the host's other evidence (${host.last})`,
          fix: [...(FIX_FOR_SOURCE.get(row.source) ?? []), FIX.retention],
        });
      }
    }
    if (row.untimed > 0) {
      add({
        kind: "untimed",
        severity: "warning",
        host: row.host,
        source: row.source,
        message: `${plural(row.untimed, "record")} of ${row.source} on ${row.host} have no usable time (redacted or invalid timestamps): they cannot be placed in a timeline`,
        fix: [
          "collect the logs from the host or receiver as written, without rewriting their timestamps",
        ],
      });
    }
  }

  // hostd event numbers
  for (const h of data.events) {
    const wide = h.sequences.flatMap((s) => s.widest.filter((w) => w.missing > eventGap));
    if (wide.length > 0) {
      const top = wide.sort((a, b) => b.missing - a.missing)[0]!;
      const missing = h.sequences.reduce((n, s) => n + s.missing, 0);
      add({
        kind: "event-gap",
        severity: "warning",
        host: h.host,
        source: "hostd",
        message: `hostd on ${h.host}: ${plural(wide.length, "jump")} of more than ${eventGap} event numbers (possible loss: the numbers count every event type, not only guest operations); widest ${top.missing} between events ${top.after} (${top.from}) and ${top.before} (${top.to}); ${missing} numbers unseen in all`,
        fix: [FIX.hostdInfo, FIX.retention],
      });
    }
    if (h.restarts > 0) {
      add({
        kind: "hostd-restart",
        severity: "info",
        host: h.host,
        source: "hostd",
        message: `hostd on ${h.host}: event numbers restart ${plural(h.restarts, "time")} (hostd restarted, or a log of another hostd run): numbers are compared within each run only`,
        fix: [],
      });
    }
  }

  // vCenter event keys: one sequence per vCenter, so a hole is events that never arrived
  for (const v of data.vcenterKeys) {
    const holes = v.listed.filter((h) => h.missing > vcenterEventGap);
    if (holes.length === 0) continue;
    const widest = [...holes].sort((a, b) => b.missing - a.missing)[0];
    const range = (h: KeyGap): string =>
      `${h.after + 1}${h.missing > 1 ? `–${h.before - 1}` : ""}${h.from !== undefined && h.to !== undefined ? ` (between ${h.from} and ${h.to})` : ""}`;
    add({
      kind: "vcenter-event-gap",
      severity: "gap",
      host: v.vcenter,
      source: "vCenter events",
      message: `vCenter events from ${v.vcenter}: ${plural(v.missing, "event key")} never received in ${plural(v.holes, "hole")} between keys ${v.firstKey} and ${v.lastKey} (${v.received} received)${widest ? `; widest ${widest.missing}: ${range(widest)}` : ""}${vcenterEventGap > 0 ? `; holes of more than ${vcenterEventGap} listed` : ""}. vCenter numbers every event in one sequence: these events were lost on the way (UDP, a receiver down, a queue that overflowed) or filtered before guestops`,
      fix: [FIX.forwardVcenterEvents, FIX.reliableTransport],
    });
  }

  // what ESXi hosts said about their own forwarding
  for (const f of data.loggingFailures) {
    const when =
      f.first !== undefined ? ` from ${f.first}${f.last !== f.first ? ` to ${f.last}` : ""}` : "";
    const to = f.targets.length > 0 ? ` (${listed(f.targets)})` : "";
    const line = f.evidence[0] !== undefined ? `; first report: ${f.evidence[0].line}` : "";
    if (f.kind === "esx.remote-failure") {
      add({
        kind: "remote-logging-failed",
        severity: "gap",
        host: f.host,
        message: `${f.host}: remote logging host became unreachable ${plural(f.reports, "time")}${when}${to} (esx.problem.vmsyslogd.remote.failure): what the host logged until it reconnected is missing from the receiver${line}`,
        fix: [FIX.reliableTransport, FIX.remoteFailureAlarm, FIX.retention],
      });
    } else {
      add({
        kind: "log-messages-lost",
        severity: "gap",
        host: f.host,
        message: `${f.host}: ${f.lost !== undefined ? `${f.lost} log messages lost` : "log messages dropped"} in ${plural(f.reports, "report")}${when}${to}${line}`,
        fix: [FIX.reliableTransport, FIX.retention],
      });
    }
  }

  // attribution per host
  for (const h of attribution.perHost) {
    if (h.gaps.length === 0) continue;
    const missing = h.gaps.reduce((n, g) => n + g.operations, 0);
    add({
      kind: "unattributed",
      severity: "gap",
      host: h.host,
      message: `${h.host}: ${missing} of ${plural(h.operations, "operation")} not attributed to an accountable identity: ${h.gaps.map((g) => `${g.operations} ${g.reason}`).join("; ")}`,
      fix: [...new Set(h.gaps.map((g) => g.advice))],
    });
  }
  if (attribution.hostless.length > 0) {
    const ops = attribution.hostless.reduce((n, h) => n + h.operations, 0);
    add({
      kind: "no-host",
      severity: "warning",
      message: `${plural(attribution.hostless.length, "input")} hold ${plural(ops, "operation")} whose host no record names: ${listed(attribution.hostless.map((h) => `${h.input} (${h.operations})`))}`,
      fix: [FIX.inputHost],
    });
  }

  // methods hostd should show
  for (const s of data.silentMethods) {
    const inside = s.withinHostdSpan;
    add({
      kind: "hostd-silent-method",
      severity: "gap",
      host: s.host,
      source: "hostd",
      message: `${s.host}: vmware.log shows ${plural(s.operations, `${s.api} call`)} that hostd logs as events, but hostd has no record of them (${inside} within the span hostd's records cover, ${s.operations - inside} outside it)`,
      fix:
        inside > 0
          ? [FIX.hostdInfo]
          : ["collect hostd.log (and its rotated hostd.*.gz) for the same period", FIX.hostdInfo],
    });
  }

  // clock skew
  for (const s of data.skew) {
    if (Math.abs(s.medianMs) <= skewMs) continue;
    add({
      kind: "clock-skew",
      severity: "warning",
      host: s.host,
      source: s.source,
      message: `${s.source} on ${s.host}: ${(Math.abs(s.medianMs) / 1000).toFixed(1)} s ${s.medianMs > 0 ? "behind" : "ahead of"} ${s.reference} (median over ${plural(s.operations, "operation")} both saw)`,
      fix: [FIX.ntp],
    });
  }

  // retention
  const asOfMs = options.asOf ?? (last !== undefined ? Date.parse(last) : undefined);
  const requiredMs =
    retentionMs !== undefined && asOfMs !== undefined ? asOfMs - retentionMs : undefined;
  if (requiredMs !== undefined) {
    const required = new Date(requiredMs).toISOString();
    for (const h of hosts) {
      if (h.first === undefined || h.first <= required) continue;
      add({
        kind: "retention-short",
        severity: "gap",
        host: h.host,
        message: `${h.host}: earliest evidence ${h.first}, ${days(Date.parse(h.first) - requiredMs)} short of the ${days(retentionMs!)} the policy requires (from ${required})`,
        fix: [FIX.retention, FIX.vmwareLog],
      });
    }
    const shortVms = data.vms.filter((v) => v.first !== undefined && v.first > required);
    if (shortVms.length > 0) {
      add({
        kind: "retention-short-vms",
        severity: "gap",
        message: `${plural(shortVms.length, "VM")} of ${data.vms.length} have evidence only from after ${required}: ${listed(shortVms.map((v) => v.vm))}`,
        fix: [FIX.vmwareLog, FIX.retention],
      });
    }
  }

  // posture: critical VMs and files out of guests
  const critical = data.vms.filter((v) => v.operations > 0 && isCritical(policy, vmRef(v)));
  if (critical.length > 0) {
    const ops = critical.reduce((n, v) => n + v.operations, 0);
    add({
      kind: "critical-vm-guest-ops",
      severity: "warning",
      message: `${plural(ops, "guest operation")} on ${plural(critical.length, "critical VM")}: ${listed(critical.map((v) => v.vm))}`,
      fix: [FIX.disableOnCritical, FIX.restrictPrivileges],
    });
  }
  const out = data.vms.filter((v) => v.fromGuest > 0);
  if (out.length > 0) {
    add({
      kind: "files-out-of-guests",
      severity: "info",
      message: `${plural(
        out.reduce((n, v) => n + v.fromGuest, 0),
        "file transfer",
      )} out of ${plural(out.length, "guest")} (InitiateFileTransferFromGuest needs only the Query privilege)`,
      fix: [FIX.restrictPrivileges],
    });
  }

  const rank = (s: FindingSeverity): number => FINDING_SEVERITIES.indexOf(s);
  findings.sort(
    (a, b) =>
      rank(a.severity) - rank(b.severity) ||
      cmp(a.kind, b.kind) ||
      cmp(a.host ?? "", b.host ?? "") ||
      cmp(a.source ?? "", b.source ?? "") ||
      cmp(a.message, b.message),
  );
  return {
    ...data,
    ...(asOfMs !== undefined ? { asOf: new Date(asOfMs).toISOString() } : {}),
    ...(retentionMs !== undefined ? { retentionDays: retentionMs / DAY } : {}),
    ...(requiredMs !== undefined ? { requiredFrom: new Date(requiredMs).toISOString() } : {}),
    ...(first !== undefined ? { firstEvidence: first } : {}),
    firstBySource: COVERAGE_SOURCES.filter((s) => firstBySource.has(s)).map((source) => ({
      source,
      first: firstBySource.get(source)!,
    })),
    hosts,
    thresholds: { gapMs, skewMs, eventGap, vcenterEventGap },
    findings,
  };
}

const vmRef = (v: VmEvidence): { name?: string; vmx?: string } => ({
  ...(v.name !== undefined ? { name: v.name } : { name: v.vm }),
  ...(v.vmx !== undefined ? { vmx: v.vmx } : {}),
});

const ABSENT_MEANS: ReadonlyMap<CoverageSource, string> = new Map<CoverageSource, string>([
  ["hostd", "the host's own record of guest operations and of logins is missing"],
  ["vmware.log", "nothing beside the VMs confirms what hostd and vCenter report"],
  ["vpxd", "calls through vCenter cannot be tied to vCenter sessions"],
  ["vCenter events", "calls through vCenter cannot be tied to the vCenter user who made them"],
  ["audit records", "no record names the account of each API call on the hosts"],
]);

/** How the findings name a source's records. */
export const recordsOf = (source: CoverageSource): string =>
  source === "vCenter events" || source === "audit records" ? source : `${source} records`;
