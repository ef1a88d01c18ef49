/**
 * Logging coverage, gathered record by record and operation by operation: per host and per source
 * (hostd, vmware.log, vpxd, vCenter events, audit records) the first and last record, the silent
 * gaps, hostd's event numbers, the clock offsets between sources, the earliest evidence per VM, and
 * the methods vmware.log shows that hostd does not. Memory is bounded by the span and the number of
 * hosts, VMs and guest operations, never by the number of records: gaps are found from time buckets
 * half the gap threshold wide, each holding only its earliest and latest record (exact for every
 * gap longer than a bucket).
 */
import { hostKey } from "../attribute/identity.js";
import { methodByApi } from "../model/catalog.js";
import type { Operation } from "../model/operation.js";
import type {
  CanonicalRecord,
  InputSource,
  LoggingRecord,
  Observation,
  ObservationKind,
} from "../model/record.js";
import { KeyRuns, type KeyAt, type KeyHole, type Run } from "./keys.js";

export const COVERAGE_SOURCES = [
  "hostd",
  "vmware.log",
  "vpxd",
  "vCenter events",
  "audit records",
] as const;
export type CoverageSource = (typeof COVERAGE_SOURCES)[number];

/** The label records whose lines, input and path name no host are grouped under. */
export const NO_HOST = "(no host name)";

/**
 * Guest operations hostd writes an event line for (`Event N : Guest operation <Label> performed
 * on Virtual machine <vm>.`), as seen in public hostd.log samples of ESXi 6.5 and 8.0.
 */
export const HOSTD_EVENT_APIS: ReadonlySet<string> = new Set([
  "StartProgramInGuest",
  "CreateTemporaryFileInGuest",
  "InitiateFileTransferFromGuest",
  "InitiateFileTransferToGuest",
  "DeleteFileInGuest",
]);

const KIND_SOURCE: readonly [string, CoverageSource][] = [
  ["hostd.", "hostd"],
  ["vmx.", "vmware.log"],
  ["vpxd.", "vpxd"],
  ["vc.", "vCenter events"],
  ["audit.", "audit records"],
];

const FORMAT_SOURCE: ReadonlyMap<string, CoverageSource> = new Map<string, CoverageSource>([
  ["hostd", "hostd"],
  ["vmx", "vmware.log"],
  ["vpxd", "vpxd"],
  ["vc-events", "vCenter events"],
  ["vc-events-json", "vCenter events"],
  ["esx-audit", "audit records"],
]);

const sourceOfKind = (kind: ObservationKind): CoverageSource | undefined =>
  KIND_SOURCE.find(([prefix]) => kind.startsWith(prefix))?.[1];

/**
 * The source a record speaks for: an observation by its kind; a session fact by the reader that
 * read it (its input's format, else the program that wrote it, for receiver files).
 */
export function sourceOf(record: CanonicalRecord): CoverageSource | undefined {
  if (record.type === "observation") return sourceOfKind(record.kind);
  // a vCenter event (it has a key); an ESXi line about its own forwarding is no source of records
  if (record.type === "logging")
    return record.eventKey !== undefined ? "vCenter events" : undefined;
  if (record.kind === "connect" || record.kind === "disconnect") return "audit records";
  const byFormat = FORMAT_SOURCE.get(record.prov.source.format ?? "");
  if (byFormat !== undefined) return byFormat;
  const program = record.process?.toLowerCase();
  if (program === "hostd") return "hostd";
  if (program === "vpxd") return "vpxd";
  return record.vcenter !== undefined ? "vCenter events" : undefined;
}

/**
 * The vCenter event key a record shows, when it came from the event stream (a syslog stream or a
 * receiver's copy of it): every event there has one, in one sequence per vCenter. Exports (`govc
 * events -json`, PowerCLI) are queries, usually filtered: their keys say nothing of loss.
 */
export function streamEventKey(record: CanonicalRecord): number | undefined {
  const key = record.eventKey;
  if (key === undefined || !/^\d{1,15}$/.test(key)) return undefined;
  if (record.prov.source.format === "vc-events-json") return undefined;
  const fromStream =
    record.type === "logging" ||
    (record.type === "observation" && record.kind.startsWith("vc.")) ||
    (record.type === "session" &&
      record.vcenter !== undefined &&
      record.prov.raw.includes(`Event [${key}]`));
  return fromStream ? Number(key) : undefined;
}

/** The vCenter whose key sequence a stream event key belongs to (as written). */
export function vcenterOfKey(record: CanonicalRecord): string {
  return record.vcenter ?? record.prov.source.hostHint ?? NO_HOST;
}

/**
 * A run of consecutive vCenter event keys as the store keeps it (`store/key-runs.ts`), in place of
 * one record per key: what `CoverageCollector.addKeyRun` takes.
 */
export interface KeyRunIn extends Run {
  /** The vCenter (as `vcenterOfKey` names it). */
  readonly vcenter: string;
}

/** The host a record is evidence for: the host it names, else its input's host hint, else its vCenter. */
export function hostOfRecord(record: CanonicalRecord): string | undefined {
  return record.host ?? record.prov.source.hostHint ?? record.vcenter;
}

/** A VM's label across sources: its display name, else its datastore directory, else its .vmx. */
export function vmLabelOf(vm: Observation["vm"] | Operation["vm"] | undefined): string | undefined {
  if (!vm) return undefined;
  if (vm.name) return vm.name;
  if (vm.dir) return vm.dir;
  if (vm.vmx) return vm.vmx;
  return vm.moref !== undefined ? `moref ${vm.moref}` : undefined;
}

interface Bucket {
  min: number;
  max: number;
}

class SourceStats {
  records = 0;
  untimed = 0;
  first = Number.POSITIVE_INFINITY;
  last = Number.NEGATIVE_INFINITY;
  readonly buckets = new Map<number, Bucket>();

  add(ms: number | undefined, bucketMs: number): void {
    this.records++;
    if (ms === undefined) {
      this.untimed++;
      return;
    }
    if (ms < this.first) this.first = ms;
    if (ms > this.last) this.last = ms;
    const index = Math.floor(ms / bucketMs);
    const b = this.buckets.get(index);
    if (!b) this.buckets.set(index, { min: ms, max: ms });
    else {
      if (ms < b.min) b.min = ms;
      if (ms > b.max) b.max = ms;
    }
  }

  /** `count` records whose times lie from `first` to `last` (both undefined: none had one). */
  addSpan(
    count: number,
    first: number | undefined,
    last: number | undefined,
    bucketMs: number,
  ): void {
    if (first === undefined && last === undefined) {
      this.records += count;
      this.untimed += count;
      return;
    }
    const ends = [...new Set([first, last].filter((t): t is number => t !== undefined))];
    for (const t of ends.slice(0, count)) this.add(t, bucketMs);
    this.records += Math.max(0, count - ends.length);
  }

  merge(other: SourceStats): void {
    this.records += other.records;
    this.untimed += other.untimed;
    this.first = Math.min(this.first, other.first);
    this.last = Math.max(this.last, other.last);
    for (const [index, b] of other.buckets) {
      const mine = this.buckets.get(index);
      if (!mine) this.buckets.set(index, { ...b });
      else {
        mine.min = Math.min(mine.min, b.min);
        mine.max = Math.max(mine.max, b.max);
      }
    }
  }

  /** Every silence between two records longer than `gapMs`, in time order. */
  gaps(gapMs: number): { from: number; to: number }[] {
    const keys = [...this.buckets.keys()].sort((a, b) => a - b);
    const out: { from: number; to: number }[] = [];
    for (let i = 1; i < keys.length; i++) {
      const before = this.buckets.get(keys[i - 1]!)!;
      const after = this.buckets.get(keys[i]!)!;
      if (after.min - before.max > gapMs) out.push({ from: before.max, to: after.min });
    }
    return out;
  }
}

interface HostEntry {
  label: string;
  readonly sources: Map<CoverageSource, SourceStats>;
  /** hostd event numbers with their times: [ms, number]. */
  readonly events: [number, number][];
}

interface VmEntry {
  label: string;
  readonly hosts: Set<string>;
  readonly sources: Set<CoverageSource>;
  first: number;
  last: number;
  operations: number;
  fromGuest: number;
  readonly ref: { name?: string; vmx?: string };
}

/** Offsets of one source's clock against the reference source of the same operations. */
interface SkewSamples {
  host: string;
  source: CoverageSource;
  reference: CoverageSource;
  readonly offsets: number[];
}

/** Samples kept per host and pair of sources for the median (the first ones, in input order). */
export const MAX_SKEW_SAMPLES = 4096;

const timeOf = (time: string | undefined): number | undefined => {
  if (time === undefined) return undefined;
  const t = Date.parse(time);
  return Number.isNaN(t) ? undefined : t;
};

/** The raw material of a coverage report, gathered one record and one operation at a time. */
export class CoverageCollector {
  readonly #bucketMs: number;
  readonly #hosts = new Map<string, HostEntry>();
  readonly #vms = new Map<string, VmEntry>();
  readonly #skew = new Map<string, SkewSamples>();
  readonly #silent = new Map<
    string,
    { host: string; api: string; operations: number; times: number[] }
  >();
  readonly #unnamed = new Map<string, HostEntry>();
  /** Input path → the host (or vCenter) an operation joining its records names. */
  readonly #inputHost = new Map<string, string>();
  /** vCenter event keys received, per vCenter (host key → label and runs). */
  readonly #vcKeys = new Map<string, { label: string; runs: KeyRuns }>();
  /** ESXi hosts' own reports of failed forwarding, per host and kind. */
  readonly #failures = new Map<string, FailureEntry>();
  records = 0;
  /** Records no source could be named for (none expected: counted to show it). */
  unplaced = 0;
  operations = 0;

  /** `gapMs`: the silent-gap threshold (buckets are half as wide). */
  constructor(gapMs: number) {
    this.#bucketMs = Math.max(1000, Math.floor(gapMs / 2));
  }

  #host(raw: string): HostEntry {
    const key = hostKey(raw);
    let entry = this.#hosts.get(key);
    if (!entry) {
      entry = { label: raw, sources: new Map(), events: [] };
      this.#hosts.set(key, entry);
    } else if (raw !== undefined && raw.includes(".") && !entry.label.includes(".")) {
      entry.label = raw; // the fully qualified spelling, when one source gives it
    }
    return entry;
  }

  add(record: CanonicalRecord): void {
    this.records++;
    const key = streamEventKey(record);
    if (key !== undefined) this.#vcKey(record, key);
    if (record.type === "logging" && record.kind !== "vc.event-key") {
      this.#failure({ ...record, kind: record.kind });
    }
    const source = sourceOf(record);
    if (source === undefined) {
      if (record.type !== "logging") this.unplaced++;
      return;
    }
    const ms = timeOf(record.time);
    const named = hostOfRecord(record);
    const host = named !== undefined ? this.#host(named) : this.#hostless(record.prov.source.path);
    let stats = host.sources.get(source);
    if (!stats) {
      stats = new SourceStats();
      host.sources.set(source, stats);
    }
    stats.add(ms, this.#bucketMs);
    if (
      source === "hostd" &&
      ms !== undefined &&
      record.eventKey !== undefined &&
      /^\d{1,15}$/.test(record.eventKey)
    ) {
      host.events.push([ms, Number(record.eventKey)]);
    }
    if (record.type === "observation") {
      const label = vmLabelOf(record.vm);
      if (label !== undefined) {
        const vm = this.#vm(label, record.vm);
        vm.sources.add(source);
        if (ms !== undefined) {
          if (ms < vm.first) vm.first = ms;
          if (ms > vm.last) vm.last = ms;
        }
        if (named !== undefined) vm.hosts.add(host.label);
      }
    }
  }

  #keysOf(label: string): KeyRuns {
    const id = hostKey(label);
    let entry = this.#vcKeys.get(id);
    if (!entry) {
      entry = { label, runs: new KeyRuns() };
      this.#vcKeys.set(id, entry);
    }
    return entry.runs;
  }

  #vcKey(record: CanonicalRecord, key: number): void {
    this.#keysOf(vcenterOfKey(record)).add(
      key,
      timeOf(record.time),
      record.prov.source,
      record.prov.line,
    );
  }

  /**
   * A vCenter event that is only a key (`ReadHooks.eventKey`), as `add()` takes its `vc.event-key`
   * record: the key sequence, and the vCenter's "vCenter events" source.
   */
  addKey(
    source: InputSource,
    key: number,
    ms: number | undefined,
    vcenter: string | undefined,
    line: number,
  ): void {
    this.records++;
    // exports are queries: their keys say nothing of loss (as `streamEventKey`)
    if (source.format !== "vc-events-json") {
      const label = vcenter ?? source.hostHint ?? NO_HOST;
      const last = this.#lastKeys;
      const runs = last?.label === label ? last.runs : this.#keysOf(label);
      this.#lastKeys = { label, runs };
      runs.add(key, ms, source, line);
    }
    const named = source.hostHint ?? vcenter;
    const hit = this.#lastStats;
    let stats: SourceStats;
    if (hit !== undefined && hit.named === named && hit.source === source) stats = hit.stats;
    else {
      const host = named !== undefined ? this.#host(named) : this.#hostless(source.path);
      let found = host.sources.get("vCenter events");
      if (!found) {
        found = new SourceStats();
        host.sources.set("vCenter events", found);
      }
      stats = found;
      this.#lastStats = { named, source, stats };
    }
    stats.add(ms, this.#bucketMs);
  }

  /** The last vCenter `addKey` saw, and the source stats it fed: a stream names one vCenter. */
  #lastKeys: { label: string; runs: KeyRuns } | undefined;
  #lastStats: { named: string | undefined; source: InputSource; stats: SourceStats } | undefined;

  /**
   * A stored run of `vc.event-key` records, as if each of its keys had come through `add()`: the
   * key sequence, and the vCenter's "vCenter events" source (its keys counted, its first and last
   * times as records' times: a silence inside a run the store split off is no silence).
   */
  addKeyRun(run: KeyRunIn): void {
    const count = run.hi - run.lo + 1;
    if (!(count > 0)) return;
    this.records += count;
    this.#keysOf(run.vcenter).addRun(run);
    // the host `hostOfRecord` gives a key record: its input's hint, else its vCenter
    const named = run.loSource?.hostHint ?? (run.vcenter !== NO_HOST ? run.vcenter : undefined);
    const host =
      named !== undefined
        ? this.#host(named)
        : this.#hostless(run.loSource?.path ?? run.hiSource?.path ?? "");
    let stats = host.sources.get("vCenter events");
    if (!stats) {
      stats = new SourceStats();
      host.sources.set("vCenter events", stats);
    }
    stats.addSpan(count, run.firstMs, run.lastMs, this.#bucketMs);
  }

  #failure(record: LoggingRecord & { kind: LoggingFailures["kind"] }): void {
    const host = record.host ?? record.prov.source.hostHint ?? record.vcenter ?? NO_HOST;
    const id = `${hostKey(host)}\u0000${record.kind}`;
    let f = this.#failures.get(id);
    if (!f) {
      f = {
        host,
        kind: record.kind,
        reports: 0,
        lost: 0,
        targets: [],
        first: [],
        latest: undefined,
      };
      this.#failures.set(id, f);
    }
    f.reports++;
    if (record.count !== undefined) f.lost += record.count;
    if (record.target !== undefined && !f.targets.includes(record.target)) {
      if (f.targets.length < MAX_TARGETS) f.targets.push(record.target);
    }
    const at: FailureReport = {
      ...(record.time !== undefined ? { time: record.time } : {}),
      ...(record.target !== undefined ? { target: record.target } : {}),
      ...(record.count !== undefined ? { count: record.count } : {}),
      line: record.prov.raw.slice(0, MAX_EVIDENCE_CHARS),
    };
    if (f.first.length < MAX_FAILURE_LINES) f.first.push(at);
    if (f.latest === undefined || (at.time ?? "") > (f.latest.time ?? "")) f.latest = at;
  }

  /** Records whose lines, input and path name no host: kept per input until an operation names it. */
  #hostless(path: string): HostEntry {
    let entry = this.#unnamed.get(path);
    if (!entry) {
      entry = {
        label: `${NO_HOST.slice(0, -1)}: ${path})`,
        sources: new Map(),
        events: [],
      };
      this.#unnamed.set(path, entry);
    }
    return entry;
  }

  #vm(label: string, ref: Observation["vm"] | Operation["vm"] | undefined): VmEntry {
    let vm = this.#vms.get(label);
    if (!vm) {
      vm = {
        label,
        hosts: new Set(),
        sources: new Set(),
        first: Number.POSITIVE_INFINITY,
        last: Number.NEGATIVE_INFINITY,
        operations: 0,
        fromGuest: 0,
        ref: {},
      };
      this.#vms.set(label, vm);
    }
    if (ref?.name !== undefined && vm.ref.name === undefined) vm.ref.name = ref.name;
    if (ref?.vmx !== undefined && vm.ref.vmx === undefined) vm.ref.vmx = ref.vmx;
    return vm;
  }

  addOperation(op: Operation): void {
    if (op.hidden) return;
    this.operations++;
    const label = vmLabelOf(op.vm);
    if (label !== undefined) {
      const vm = this.#vm(label, op.vm);
      vm.operations++;
      if (methodByApi(op.api)?.transfer === "from-guest") vm.fromGuest++;
      if (op.host !== undefined) vm.hosts.add(op.host);
    }
    for (const o of op.observations) {
      const path = o.prov.source.path;
      if (!this.#unnamed.has(path) || this.#inputHost.has(path)) continue;
      const side = sourceOfKind(o.kind);
      const target =
        side === "vpxd" || side === "vCenter events" ? (op.vcenter ?? op.host) : op.host;
      if (target !== undefined) this.#inputHost.set(path, target);
    }
    const host = op.host ?? NO_HOST;
    // earliest time per source among the operation's records
    const earliest = new Map<CoverageSource, number>();
    for (const o of op.observations) {
      const source = sourceOfKind(o.kind);
      const t = timeOf(o.time);
      if (source === undefined || t === undefined) continue;
      const known = earliest.get(source);
      if (known === undefined || t < known) earliest.set(source, t);
    }
    const reference: CoverageSource | undefined = earliest.has("hostd")
      ? "hostd"
      : earliest.has("audit records")
        ? "audit records"
        : undefined;
    if (reference !== undefined && op.host !== undefined) {
      const base = earliest.get(reference)!;
      for (const [source, t] of earliest) {
        if (source === reference) continue;
        const key = `${hostKey(host)}\u0000${source}\u0000${reference}`;
        let s = this.#skew.get(key);
        if (!s) {
          s = { host, source, reference, offsets: [] };
          this.#skew.set(key, s);
        }
        if (s.offsets.length < MAX_SKEW_SAMPLES) s.offsets.push(t - base);
      }
    }
    // a method hostd logs, seen in vmware.log, with no hostd record in the operation
    if (
      HOSTD_EVENT_APIS.has(op.api) &&
      earliest.has("vmware.log") &&
      !op.observations.some((o) => sourceOfKind(o.kind) === "hostd")
    ) {
      const key = `${hostKey(host)}\u0000${op.api}`;
      let s = this.#silent.get(key);
      if (!s) {
        s = { host, api: op.api, operations: 0, times: [] };
        this.#silent.set(key, s);
      }
      s.operations++;
      const t = earliest.get("vmware.log");
      if (t !== undefined && s.times.length < MAX_SKEW_SAMPLES) s.times.push(t);
    }
  }

  /**
   * What was gathered, in a stable order (hosts, sources, VMs by label). `settledBefore` (epoch
   * ms, default: everything): a hole in a vCenter's event keys counts only once the key above it
   * is older than this, so that a live caller gives late events their chance to fill it.
   */
  snapshot(gapMs: number, settledBefore = Number.POSITIVE_INFINITY): CoverageData {
    // hostless inputs join the host an operation named for them, else stand under their file name
    for (const [path, entry] of [...this.#unnamed].sort((a, b) => cmp(a[0], b[0]))) {
      const target = this.#inputHost.get(path);
      const into = target !== undefined ? this.#host(target) : this.#hostByLabel(entry.label);
      for (const [source, stats] of entry.sources) {
        const known = into.sources.get(source);
        if (known) known.merge(stats);
        else into.sources.set(source, stats);
      }
      into.events.push(...entry.events);
    }
    this.#unnamed.clear();
    const hosts = [...this.#hosts.values()].sort((a, b) => cmp(a.label, b.label));
    const rows: SourceRow[] = [];
    const events: HostEvents[] = [];
    for (const h of hosts) {
      for (const source of COVERAGE_SOURCES) {
        const s = h.sources.get(source);
        if (!s) continue;
        rows.push({
          host: h.label,
          source,
          records: s.records,
          untimed: s.untimed,
          ...(Number.isFinite(s.first) ? { first: iso(s.first), last: iso(s.last) } : {}),
          gaps: s.gaps(gapMs).map((g) => ({ from: iso(g.from), to: iso(g.to), ms: g.to - g.from })),
        });
      }
      if (h.events.length > 0) events.push({ host: h.label, ...sequencesOf(h.events) });
    }
    const hostdSpan = new Map<string, { first: number; last: number }>();
    for (const h of hosts) {
      const s = h.sources.get("hostd");
      if (s && Number.isFinite(s.first)) hostdSpan.set(h.label, { first: s.first, last: s.last });
    }
    const skew = [...this.#skew.values()]
      .map((s) => ({
        host: this.#labelOf(s.host),
        source: s.source,
        reference: s.reference,
        operations: s.offsets.length,
        medianMs: median(s.offsets),
      }))
      .sort((a, b) => cmp(a.host, b.host) || cmp(a.source, b.source));
    const silentMethods = [...this.#silent.values()]
      .map((s) => {
        const label = this.#labelOf(s.host);
        const span = hostdSpan.get(label);
        const within = span ? s.times.filter((t) => t >= span.first && t <= span.last).length : 0;
        return { host: label, api: s.api, operations: s.operations, withinHostdSpan: within };
      })
      .sort((a, b) => cmp(a.host, b.host) || cmp(a.api, b.api));
    const vms = [...this.#vms.values()]
      .sort((a, b) => cmp(a.label, b.label))
      .map((v) => ({
        vm: v.label,
        ...(v.ref.name !== undefined ? { name: v.ref.name } : {}),
        ...(v.ref.vmx !== undefined ? { vmx: v.ref.vmx } : {}),
        hosts: [...v.hosts].sort(cmp),
        sources: COVERAGE_SOURCES.filter((s) => v.sources.has(s)),
        ...(Number.isFinite(v.first) ? { first: iso(v.first), last: iso(v.last) } : {}),
        operations: v.operations,
        fromGuest: v.fromGuest,
      }));
    const vcenterKeys = [...this.#vcKeys.values()]
      .sort((a, b) => cmp(a.label, b.label))
      .map(({ label, runs }) => {
        const holes = runs.holes(settledBefore);
        return {
          vcenter: label,
          firstKey: runs.first,
          lastKey: runs.last,
          received: runs.received,
          missing: holes.reduce((n, h) => n + h.missing, 0),
          holes: holes.length,
          listed: holes
            .sort((a, b) => b.missing - a.missing || a.after - b.after)
            .slice(0, MAX_HOLES_LISTED)
            .map(holeOut),
          ...(runs.refused > 0 ? { unplacedKeys: runs.refused } : {}),
        };
      });
    const loggingFailures = [...this.#failures.values()]
      .map((f) => ({
        host: this.#labelOf(f.host),
        kind: f.kind,
        reports: f.reports,
        ...(f.lost > 0 ? { lost: f.lost } : {}),
        targets: [...f.targets].sort(cmp),
        ...(f.first[0]?.time !== undefined ? { first: f.first[0].time } : {}),
        ...(f.latest?.time !== undefined ? { last: f.latest.time } : {}),
        evidence: f.first,
      }))
      .sort((a, b) => cmp(a.host, b.host) || cmp(a.kind, b.kind));
    return {
      records: this.records,
      unplaced: this.unplaced,
      operations: this.operations,
      sources: rows,
      events,
      vcenterKeys,
      loggingFailures,
      skew,
      silentMethods,
      vms,
    };
  }

  #hostByLabel(label: string): HostEntry {
    let entry = this.#hosts.get(label);
    if (!entry) {
      entry = { label, sources: new Map(), events: [] };
      this.#hosts.set(label, entry);
    }
    return entry;
  }

  #labelOf(host: string): string {
    return this.#hosts.get(hostKey(host))?.label ?? host;
  }
}

export interface SourceRow {
  readonly host: string;
  readonly source: CoverageSource;
  readonly records: number;
  /** Records without a usable time. */
  readonly untimed: number;
  readonly first?: string;
  readonly last?: string;
  /** Silences longer than the threshold between two records of this source. */
  readonly gaps: readonly { readonly from: string; readonly to: string; readonly ms: number }[];
}

/** One run of hostd's event numbers (they restart at hostd's start). */
export interface EventSequence {
  readonly firstNumber: number;
  readonly lastNumber: number;
  readonly from: string;
  readonly to: string;
  /** Distinct numbers guestops keeps (guest-operation and session events). */
  readonly seen: number;
  /** Numbers between the first and last not seen: other event types, or lost lines. */
  readonly missing: number;
  /** The widest jumps, widest first (at most 5). */
  readonly widest: readonly {
    readonly after: number;
    readonly before: number;
    readonly missing: number;
    readonly from: string;
    readonly to: string;
  }[];
}

export interface HostEvents {
  readonly host: string;
  readonly sequences: readonly EventSequence[];
  /** Times the numbers went down (hostd restarted, or a new log began). */
  readonly restarts: number;
}

/** vCenter event keys missing between two received ones. */
export interface KeyGap {
  /** The last key received below the hole, and the first above it. */
  readonly after: number;
  readonly before: number;
  readonly missing: number;
  /** Times of the events on either side (absent when those records had none). */
  readonly from?: string;
  readonly to?: string;
  /** Where the events on either side were read: input (`path`, `path (member)`) and line. */
  readonly fromAt?: LineAt;
  readonly toAt?: LineAt;
}

/** An input line, as evidence. The path is as given (log-derived inside archives: escape it). */
export interface LineAt {
  readonly input: string;
  readonly line: number;
}

/** One vCenter's event keys as received from its event stream. */
export interface VcenterKeys {
  readonly vcenter: string;
  readonly firstKey: number;
  readonly lastKey: number;
  /** Distinct keys received. */
  readonly received: number;
  /** Keys between the first and last never received (in settled holes). */
  readonly missing: number;
  /** Settled holes in all, and the widest of them (at most 20, widest first). */
  readonly holes: number;
  readonly listed: readonly KeyGap[];
  /** Keys not tracked because the holes were too many to hold (memory bound). */
  readonly unplacedKeys?: number;
}

/** One report of failed forwarding, with its line. */
export interface FailureReport {
  readonly time?: string;
  readonly target?: string;
  readonly count?: number;
  /** The raw line, as written (log-derived: escape on output), cut at 1000 characters. */
  readonly line: string;
}

/** What a host said about its own log forwarding (`esx.problem.vmsyslogd.remote.failure`, lost messages). */
export interface LoggingFailures {
  readonly host: string;
  readonly kind: "esx.remote-failure" | "esx.messages-lost";
  readonly reports: number;
  /** Messages the reports say were lost, when they state a number. */
  readonly lost?: number;
  /** The log hosts named (at most 8). */
  readonly targets: readonly string[];
  readonly first?: string;
  readonly last?: string;
  /** The first reports (at most 3), each with its line. */
  readonly evidence: readonly FailureReport[];
}

export interface SkewEstimate {
  readonly host: string;
  readonly source: CoverageSource;
  readonly reference: CoverageSource;
  /** Operations both sources saw (at most MAX_SKEW_SAMPLES). */
  readonly operations: number;
  /** Median of (source's time − reference's time) over those operations. */
  readonly medianMs: number;
}

export interface SilentMethod {
  readonly host: string;
  readonly api: string;
  /** Operations vmware.log shows and hostd does not. */
  readonly operations: number;
  /** Of those, how many fall within the span hostd's records cover on that host. */
  readonly withinHostdSpan: number;
}

export interface VmEvidence {
  readonly vm: string;
  readonly name?: string;
  readonly vmx?: string;
  readonly hosts: readonly string[];
  readonly sources: readonly CoverageSource[];
  readonly first?: string;
  readonly last?: string;
  readonly operations: number;
  /** Files pulled out of the guest (InitiateFileTransferFromGuest). */
  readonly fromGuest: number;
}

export interface CoverageData {
  readonly records: number;
  readonly unplaced: number;
  readonly operations: number;
  readonly sources: readonly SourceRow[];
  readonly events: readonly HostEvents[];
  /** vCenter event keys per vCenter (from the event stream only). */
  readonly vcenterKeys: readonly VcenterKeys[];
  /** Hosts that reported failed forwarding or lost messages. */
  readonly loggingFailures: readonly LoggingFailures[];
  readonly skew: readonly SkewEstimate[];
  readonly silentMethods: readonly SilentMethod[];
  readonly vms: readonly VmEvidence[];
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const iso = (ms: number): string => new Date(ms).toISOString();

interface FailureEntry {
  readonly host: string;
  readonly kind: LoggingFailures["kind"];
  reports: number;
  lost: number;
  readonly targets: string[];
  readonly first: FailureReport[];
  latest: FailureReport | undefined;
}

const MAX_TARGETS = 8;
const MAX_FAILURE_LINES = 3;
const MAX_EVIDENCE_CHARS = 1000;
/** Holes listed per vCenter, widest first (all are counted). */
export const MAX_HOLES_LISTED = 20;

const holeOut = (h: KeyHole): KeyGap => ({
  after: h.after,
  before: h.before,
  missing: h.missing,
  ...(h.fromMs !== undefined ? { from: iso(h.fromMs) } : {}),
  ...(h.toMs !== undefined ? { to: iso(h.toMs) } : {}),
  ...(h.fromAt ? { fromAt: lineAt(h.fromAt) } : {}),
  ...(h.toAt ? { toAt: lineAt(h.toAt) } : {}),
});

const lineAt = (at: KeyAt): LineAt => ({
  input:
    at.source.member !== undefined ? `${at.source.path} (${at.source.member})` : at.source.path,
  line: at.line,
});

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

/** hostd event numbers in time order, cut into runs where the numbers go down. */
export function sequencesOf(events: readonly (readonly [number, number])[]): {
  sequences: EventSequence[];
  restarts: number;
} {
  const sorted = [...events].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const sequences: EventSequence[] = [];
  let restarts = 0;
  let current:
    | {
        first: number;
        last: number;
        from: number;
        to: number;
        seen: number;
        missing: number;
        jumps: { after: number; before: number; missing: number; from: number; to: number }[];
      }
    | undefined;
  const close = (): void => {
    if (!current) return;
    const widest = current.jumps
      .sort((a, b) => b.missing - a.missing || a.from - b.from)
      .slice(0, 5)
      .map((j) => ({ ...j, from: iso(j.from), to: iso(j.to) }));
    sequences.push({
      firstNumber: current.first,
      lastNumber: current.last,
      from: iso(current.from),
      to: iso(current.to),
      seen: current.seen,
      missing: current.missing,
      widest,
    });
  };
  for (const [t, n] of sorted) {
    if (current && n === current.last) continue; // the same event read twice
    if (!current || n < current.last) {
      if (current) restarts++;
      close();
      current = { first: n, last: n, from: t, to: t, seen: 1, missing: 0, jumps: [] };
      continue;
    }
    const missing = n - current.last - 1;
    if (missing > 0) {
      current.missing += missing;
      current.jumps.push({ after: current.last, before: n, missing, from: current.to, to: t });
      if (current.jumps.length > 64) {
        current.jumps.sort((a, b) => b.missing - a.missing);
        current.jumps.length = 5;
      }
    }
    current.last = n;
    current.to = t;
    current.seen++;
  }
  close();
  return { sequences, restarts };
}
