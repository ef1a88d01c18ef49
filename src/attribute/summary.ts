/**
 * Attribution coverage: the share of operations at each level, coverage = (exact + correlated) /
 * operations, per host and overall, and why the rest is not attributed, in words that say what
 * to collect. Burst records (`hidden`) are counted apart: they are not calls guestops saw.
 */
import type { AttributionLevel, Operation } from "../model/operation.js";
import type { ObservationKind } from "../model/record.js";
import type { CorrelationResult } from "./correlate.js";
import { hostKey } from "./identity.js";

export const LEVEL_ORDER: readonly AttributionLevel[] = [
  "exact",
  "correlated",
  "inferred",
  "ambiguous",
  "unknown",
];

export type LevelCounts = Readonly<Record<AttributionLevel, number>>;

/** A group of operations not attributed for one reason, with what would fix it. */
export interface Gap {
  readonly operations: number;
  /** Why (`hostd only, no vCenter events`). */
  readonly reason: string;
  /** What to collect or change (`forward vCenter events or collect vpxd.log`). */
  readonly advice: string;
}

export interface HostCoverage {
  /** Host name as the logs write it; `(no host name: <file>)` when no source names it. */
  readonly host: string;
  readonly operations: number;
  readonly levels: LevelCounts;
  /** (exact + correlated) / operations; null without operations. */
  readonly coverage: number | null;
  /** Sources that saw this host's operations (`hostd`, `vmware.log`, `vCenter events`, ...). */
  readonly sources: readonly string[];
  readonly gaps: readonly Gap[];
}

export interface AttributionSummary {
  /** Operations seen (burst records excluded). */
  readonly operations: number;
  readonly levels: LevelCounts;
  /** Share of operations at each level (0..1); all 0 without operations. */
  readonly shares: LevelCounts;
  /** (exact + correlated) / operations; null without operations. */
  readonly coverage: number | null;
  /** Operations attributed only to vpxuser (vCenter passed no end user). */
  readonly vpxuserOnly: number;
  /** Operations without any time (redacted or missing timestamps). */
  readonly withoutTime: number;
  /** vCenter burst records and the operations they say they hide (when they say). */
  readonly hidden: { readonly records: number; readonly operations: number };
  /** Evidence tied to no single operation, by reason. */
  readonly unattached: readonly { readonly reason: string; readonly count: number }[];
  readonly perHost: readonly HostCoverage[];
  /** One line per host and reason: `esx03: 40 of 40 operations hostd only, …: forward …`. */
  readonly explanations: readonly string[];
  /**
   * Inputs whose operations still have no host (lines, bundle name, path and joined records name
   * none), with how many operations: `--input-host PATH=NAME` gives one.
   */
  readonly hostless: readonly { readonly input: string; readonly operations: number }[];
  /**
   * Operations whose VM has no display name, by why (only a .vmx path, only a moref, nothing),
   * with what would name it. Absent when every operation's VM is named.
   */
  readonly unnamedVms?: readonly { readonly reason: string; readonly operations: number }[];
}

/** Why an operation's VM has no display name, and what would give it; undefined when named. */
export function unnamedVmReason(op: Operation): string | undefined {
  const { vm } = op;
  if (vm.name !== undefined) return undefined;
  if (vm.vmx !== undefined || vm.dir !== undefined)
    return "the VM is known only by its .vmx path (no record read names it): vCenter events or vpxd.log give its name";
  if (vm.moref !== undefined)
    return "the VM is known only by its managed-object id (moref): vCenter events, hostd.log or vmware.log give its name";
  const kinds = new Set(op.observations.map((o) => o.kind));
  if (kinds.has("vmx.request") || kinds.has("vmx.response"))
    return "only a vmware.log saw it, and its path names no VM folder: keep the folder (…/VM/vmware.log) when collecting, or add hostd.log and vCenter events";
  if (kinds.has("vpxd.lro") || kinds.has("vpxd.lro-end") || kinds.has("vpxd.lro-error"))
    return "only vpxd.log saw it, and its LRO line names no VM: add vCenter events or hostd.log";
  return "no record of the operation names its VM: collect hostd.log and vCenter events";
}

const zero = (): Record<AttributionLevel, number> => ({
  exact: 0,
  correlated: 0,
  inferred: 0,
  ambiguous: 0,
  unknown: 0,
});

const SOURCE_OF: ReadonlyMap<ObservationKind, string> = new Map<ObservationKind, string>([
  ["hostd.event", "hostd"],
  ["hostd.state", "hostd"],
  ["hostd.file-path", "hostd"],
  ["hostd.request", "hostd"],
  ["hostd.args", "hostd"],
  ["hostd.fault", "hostd"],
  ["vmx.request", "vmware.log"],
  ["vmx.response", "vmware.log"],
  ["vpxd.lro", "vpxd.log"],
  ["vpxd.lro-end", "vpxd.log"],
  ["vpxd.lro-error", "vpxd.log"],
  ["vc.event", "vCenter events"],
  ["vc.auth-failure", "vCenter events"],
  ["vc.burst", "vCenter events"],
  ["audit.api-call", "ESXi audit"],
]);

const sourcesOf = (op: Operation): Set<string> =>
  new Set(op.observations.map((o) => SOURCE_OF.get(o.kind) ?? o.kind));

const attributed = (op: Operation): boolean =>
  op.attribution.level === "exact" || op.attribution.level === "correlated";

const basename = (path: string): string =>
  path.slice(path.replace(/\\/g, "/").lastIndexOf("/") + 1);

/** The label operations are grouped under: the host, else the file that holds them. */
function hostLabel(op: Operation): string {
  if (op.host) return op.host;
  const obs = op.observations.find((o) => SOURCE_OF.get(o.kind) === "hostd") ?? op.observations[0];
  const src = obs?.prov.source;
  if (!src) return "(no host name)";
  return `(no host name: ${basename(src.member ?? src.path)})`;
}

/** The input (the file as named; the archive, for a member) of an operation's host-side record. */
function hostSideInputOf(op: Operation): string | undefined {
  const obs = op.observations.find((o) => HOST_SIDE_KINDS.has(o.kind));
  return obs?.prov.source.path;
}

const HOST_SIDE_KINDS: ReadonlySet<ObservationKind> = new Set<ObservationKind>([
  "hostd.event",
  "hostd.state",
  "hostd.request",
  "hostd.file-path",
  "hostd.args",
  "hostd.fault",
  "vmx.request",
  "vmx.response",
  "audit.api-call",
]);

const VCENTER_EVENTS_ADVICE =
  "forward vCenter events (syslog event streaming) or export them (govc events -json, Get-VIEvent), and collect vpxd.log";
const AUDIT_ADVICE =
  "on ESXi 8.0.3+ forward audit records (Syslog.global.auditRecord.remoteEnable), which name the account of every API call";

/** Why one operation is not attributed (exact/correlated), with what would fix it. */
export function gapOf(op: Operation): { reason: string; advice: string } | undefined {
  const level = op.attribution.level;
  const sources = sourcesOf(op);
  const has = (s: string): boolean => sources.has(s);
  const vcenter = op.vcenter ? ` from ${op.vcenter}` : "";
  if (attributed(op)) {
    if (op.attribution.principal?.kind === "vpxuser") {
      return {
        reason: "attributed only to vpxuser: vCenter passed no end user",
        advice: `collect vCenter events and vpxd.log${vcenter} for these times; they name the vCenter user`,
      };
    }
    return undefined;
  }
  if (level === "ambiguous") {
    return {
      reason: "ambiguous: several records or accounts fit (polling or concurrent calls)",
      advice:
        "keep vCenter and host clocks in NTP sync; add vmware.log (opIDs) or ESXi audit records to pin each call",
    };
  }
  if (has("vCenter events") && op.observations.every((o) => !(o.kind === "vc.event" && o.user))) {
    return {
      reason: "the vCenter event names no user (a call made straight to the host?)",
      advice: `keep hostd session lines (Config.HostAgent.log.level info or above); ${AUDIT_ADVICE}`,
    };
  }
  if (has("vpxd.log") && !has("vCenter events")) {
    return {
      reason: "vpxd.log has the call but not who made it",
      advice: `collect vCenter events${vcenter}, or the vpxd.log lines of its session's login (same session key)`,
    };
  }
  if (op.origin.via === "vcenter" && !has("vCenter events") && !has("vpxd.log")) {
    return {
      reason: "came through vCenter, but no vCenter events or vpxd.log cover it",
      advice: VCENTER_EVENTS_ADVICE,
    };
  }
  if (has("vmware.log") && !has("hostd") && !has("vCenter events") && !has("vpxd.log")) {
    return {
      reason: "vmware.log only",
      advice:
        "collect the host's hostd.log (vm-support bundle) and vCenter events or vpxd.log for the same period",
    };
  }
  if (!has("vCenter events") && !has("vpxd.log") && !has("ESXi audit")) {
    return {
      reason: `host logs only (${[...sources].sort().join(", ")}), no vCenter events${level === "inferred" ? "; the account is inferred from open sessions" : ""}`,
      advice: `${VCENTER_EVENTS_ADVICE}; ${AUDIT_ADVICE}`,
    };
  }
  return {
    reason: "no record names the account",
    advice: `${VCENTER_EVENTS_ADVICE}; ${AUDIT_ADVICE}`,
  };
}

const shareOf = (n: number, total: number): number => (total === 0 ? 0 : n / total);

/** Coverage of a set of operations (burst records are counted apart). */
export function summarise(input: CorrelationResult | readonly Operation[]): AttributionSummary {
  const builder = new SummaryBuilder();
  if (Array.isArray(input)) {
    for (const op of input as readonly Operation[]) builder.add(op);
  } else {
    const result = input as CorrelationResult;
    for (const op of result.operations) builder.add(op);
    for (const u of result.unattached) builder.unattached(u);
  }
  return builder.result();
}

interface HostTally {
  label: string;
  operations: number;
  readonly levels: Record<AttributionLevel, number>;
  readonly sources: Set<string>;
  readonly gaps: Map<string, { reason: string; advice: string; operations: number }>;
}

/**
 * The summary built one operation at a time: counters per level, host, source and gap, never
 * the operations themselves, so a streamed run summarises in memory bounded by the hosts.
 */
export class SummaryBuilder {
  readonly #levels = zero();
  #operations = 0;
  #vpxuserOnly = 0;
  #withoutTime = 0;
  #bursts = 0;
  #hiddenOperations = 0;
  readonly #hosts = new Map<string, HostTally>();
  readonly #hostless = new Map<string, number>();
  readonly #unattached = new Map<string, number>();
  readonly #unnamedVms = new Map<string, number>();

  add(op: Operation): void {
    if (op.hidden) {
      this.#bursts++;
      this.#hiddenOperations += op.hidden.count ?? 0;
      return;
    }
    this.#operations++;
    this.#levels[op.attribution.level]++;
    if (attributed(op) && op.attribution.principal?.kind === "vpxuser") this.#vpxuserOnly++;
    if (op.time === undefined) this.#withoutTime++;
    const unnamed = unnamedVmReason(op);
    if (unnamed !== undefined)
      this.#unnamedVms.set(unnamed, (this.#unnamedVms.get(unnamed) ?? 0) + 1);
    const label = hostLabel(op);
    const key = op.host ? hostKey(op.host) : label;
    let host = this.#hosts.get(key);
    if (!host) {
      host = { label, operations: 0, levels: zero(), sources: new Set(), gaps: new Map() };
      this.#hosts.set(key, host);
    }
    if (op.host && host.label !== op.host && op.host.includes(".")) host.label = op.host;
    host.operations++;
    host.levels[op.attribution.level]++;
    for (const s of sourcesOf(op)) host.sources.add(s);
    const gap = gapOf(op);
    if (gap) {
      const g = host.gaps.get(gap.reason) ?? { ...gap, operations: 0 };
      g.operations++;
      host.gaps.set(gap.reason, g);
    }
    if (!op.host) {
      const input = hostSideInputOf(op);
      if (input !== undefined) this.#hostless.set(input, (this.#hostless.get(input) ?? 0) + 1);
    }
  }

  unattached(u: CorrelationResult["unattached"][number]): void {
    const key = `${u.observation.kind}: ${u.reason}`;
    this.#unattached.set(key, (this.#unattached.get(key) ?? 0) + 1);
  }

  result(): AttributionSummary {
    const total = this.#operations;
    const levels = { ...this.#levels };
    const shares = zero();
    for (const l of LEVEL_ORDER) shares[l] = shareOf(levels[l], total);
    const perHost: HostCoverage[] = [];
    const explanations: string[] = [];
    for (const host of [...this.#hosts.values()].sort((a, b) => a.label.localeCompare(b.label))) {
      const gapList = [...host.gaps.values()]
        .map((g) => ({ ...g }))
        .sort((a, b) => b.operations - a.operations);
      const n = host.operations;
      perHost.push({
        host: host.label,
        operations: n,
        levels: { ...host.levels },
        coverage: n ? (host.levels.exact + host.levels.correlated) / n : null,
        sources: [...host.sources].sort(),
        gaps: gapList,
      });
      for (const g of gapList) {
        explanations.push(
          `${host.label}: ${g.operations} of ${n} operation${n === 1 ? "" : "s"}: ${g.reason}: ${g.advice}`,
        );
      }
    }
    return {
      operations: total,
      levels,
      shares,
      coverage: total ? (levels.exact + levels.correlated) / total : null,
      vpxuserOnly: this.#vpxuserOnly,
      withoutTime: this.#withoutTime,
      hidden: { records: this.#bursts, operations: this.#hiddenOperations },
      unattached: [...this.#unattached].map(([reason, count]) => ({ reason, count })),
      perHost,
      explanations,
      hostless: [...this.#hostless]
        .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
        .map(([input, operations]) => ({ input, operations })),
      ...(this.#unnamedVms.size
        ? {
            unnamedVms: [...this.#unnamedVms]
              .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
              .map(([reason, operations]) => ({ reason, operations })),
          }
        : {}),
    };
  }
}

/** What the run summary says of the inputs still without a host, and how to give one. */
export function hostlessLines(summary: AttributionSummary): string[] {
  return summary.hostless.map(
    (h) =>
      `${h.input}: ${h.operations} operation${h.operations === 1 ? "" : "s"} with no host (its lines name none, nor does its name, its path or another record): give it with --input-host ${h.input}=<host>`,
  );
}
