/**
 * `attributeInputs()`: read → attribute, the whole of `guestops events`; `analyze()`: the same, then
 * detect, the whole of `guestops scan` — both minus the command line and the output. Records stream from the readers into the correlator (memory grows with the number
 * of guest operations, never with the size of the input); the operations, cut to the requested
 * time range, go through the rules.
 */
import { Release } from "./attribute/release.js";
import {
  createCorrelator,
  DEFAULT_WINDOWS,
  longestWindow,
  type CorrelationResult,
  type UnattachedObservation,
} from "./attribute/correlate.js";
import { SummaryBuilder, type AttributionSummary } from "./attribute/summary.js";
import { createDetector, linkAlerts } from "./detect/engine.js";
import { compareAlerts } from "./detect/group.js";
import { BUILTIN_RULES } from "./detect/registry.js";
import type { CoverageSpan, DetectDeps, DetectResult, Rule } from "./detect/types.js";
import {
  readInputs,
  type EventKeyHook,
  type ReadInputsOptions,
  type ReadProgress,
} from "./ingest/read.js";
import type { ReadSummary } from "./ingest/summary.js";
import type { Alert } from "./model/alert.js";
import type { Operation } from "./model/operation.js";
import type { CanonicalRecord } from "./model/record.js";
import type { Policy } from "./policy/types.js";

/** What reading and attribution need. */
export interface AttributeOptions {
  readonly paths: readonly string[];
  /** IANA zone for timestamps without one (RFC 3164 receivers). Default `UTC`. */
  readonly assumeTz?: string;
  /** Read every input as this format instead of detecting it. */
  readonly inputFormat?: string;
  /** Reference time (ISO 8601) for the year of year-less timestamps (see `readInputs`). */
  readonly referenceTime?: string;
  /** Cap on the bytes read out of one archive (see `readInputs`). */
  readonly maxArchiveBytes?: number;
  /** Read every archive member (see `readInputs`). */
  readonly allMembers?: boolean;
  /** Hosts given for inputs whose lines name none (`--input-host`, see `readInputs`). */
  readonly inputHosts?: ReadInputsOptions["inputHosts"];
  readonly stdin?: () => NodeJS.ReadableStream;
  /**
   * Read in a worker thread (`ReadInputsOptions.worker`): the readers' parsing off this thread,
   * the same records in the same order. Default false.
   */
  readonly readInWorker?: boolean;
  /** Base for relative paths. */
  readonly cwd?: string;
  readonly onProgress?: (progress: ReadProgress) => void;
  /** Sees every record as it is read (coverage gathers from it). */
  readonly onRecord?: (record: CanonicalRecord) => void;
  /**
   * Sees the vCenter events that are only a key, without their records (`ReadHooks.eventKey`).
   * Without it, an `onRecord` caller gets them as `vc.event-key` records; with neither, they are
   * counted and dropped (attribution has no use for them).
   */
  readonly onEventKey?: EventKeyHook;
}

export interface AnalyzeOptions extends AttributeOptions {
  readonly policy: Policy;
  /** Keep operations at or after this instant (epoch ms). */
  readonly since?: number;
  /** Keep operations before this instant (epoch ms). */
  readonly until?: number;
  /** Rules to run. Default: the built-in rules. */
  readonly rules?: readonly Rule[];
  /** Each batch of operations inside the time range, as the rules are given it (time order). */
  readonly onOperations?: (operations: readonly Operation[]) => void;
}

/** Inputs read and attributed: one operation per API call. */
export interface Attributed {
  readonly read: ReadSummary;
  readonly correlated: CorrelationResult;
  /** Canonical records by type, as read. */
  readonly records: { readonly observations: number; readonly sessions: number };
  /** Spans the vpxd.log inputs cover (for direct-host-access). */
  readonly coverage: readonly CoverageSpan[];
  /**
   * Records that arrived after operations of their time had been released (a lane's lines out
   * of time order by more than the longest join window): they may have missed their joins.
   */
  readonly late: number;
}

/**
 * Stream time between two releases of the correlator while inputs are read side by side: each
 * release joins what is pending again, so a shorter step costs more joins and holds less.
 */
export const RELEASE_STEP_MS = 6 * 3_600_000;

/**
 * Reads the inputs side by side in stream time (`readInputs` with `order: "time"`) and streams
 * their records into the correlator, which releases the operations no record still to come can
 * change each time the watermark has moved `RELEASE_STEP_MS` on: memory is bounded by the open
 * time window, not by the size of the inputs. The released operations reach `onOperations` in
 * time order (a small reorder buffer holds those an earlier one may still precede); without it,
 * they are gathered into `correlated.operations`.
 */
export async function attributeInputs(
  options: AttributeOptions & {
    readonly onOperations?: (operations: readonly Operation[]) => void | Promise<void>;
    /** Kept up to date with the vpxd spans read so far (the rules read it while reading goes on). */
    readonly coverage?: CoverageSpan[];
  },
): Promise<Attributed> {
  const correlator = createCorrelator();
  const vpxd = new VpxdCoverage(options.coverage);
  const gathered: Operation[] = [];
  const deliver = options.onOperations ?? ((ops) => void gathered.push(...ops));
  const releases = new Release(correlator, { stepMs: RELEASE_STEP_MS });
  const unattached: UnattachedObservation[] = [];
  let observations = 0;
  let sessions = 0;
  let observed = 0;
  let duplicates = 0;
  /** Records read at or before the last release's cut: they may have missed their joins. */
  let late = 0;
  const take = (part: CorrelationResult): void => {
    unattached.push(...part.unattached);
    observed += part.observations.read;
    duplicates += part.observations.duplicates;
  };
  const release = (watermark: number): void | Promise<void> => {
    const step = releases.at(watermark);
    if (!step) return;
    take(step.part);
    // reading waits for what the operations feed (an output's backpressure)
    return step.ready.length ? deliver(step.ready) : undefined;
  };
  const cut = (): number => releases.releasedTo - longestWindow(DEFAULT_WINDOWS);
  const read = await readInputs(
    options.paths,
    {
      ...(options.assumeTz !== undefined ? { assumeTz: options.assumeTz } : {}),
      ...(options.inputFormat !== undefined ? { inputFormat: options.inputFormat } : {}),
      ...(options.referenceTime !== undefined ? { referenceTime: options.referenceTime } : {}),
      ...(options.maxArchiveBytes !== undefined
        ? { maxArchiveBytes: options.maxArchiveBytes }
        : {}),
      ...(options.allMembers ? { allMembers: true } : {}),
      ...(options.inputHosts ? { inputHosts: options.inputHosts } : {}),
      ...(options.stdin ? { stdin: options.stdin } : {}),
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      ...(options.readInWorker ? { worker: true } : {}),
      order: "time",
    },
    {
      record: (record) => {
        if (record.type === "observation") observations++;
        else if (record.type === "session") sessions++;
        if (record.time !== undefined && Date.parse(record.time) <= cut()) late++;
        vpxd.add(record);
        options.onRecord?.(record);
        correlator.add(record);
      },
      ...(options.onEventKey !== undefined || options.onRecord === undefined
        ? {
            eventKey: (source, key, time, ms, vcenter, line) => {
              if (ms !== undefined && ms <= cut()) late++;
              options.onEventKey?.(source, key, time, ms, vcenter, line);
            },
          }
        : {}),
      watermark: release,
      ...(options.onProgress ? { progress: options.onProgress } : {}),
    },
  );
  const last = releases.finish();
  take(last.part);
  if (last.ready.length) await deliver(last.ready);
  return {
    read,
    correlated: {
      operations: gathered,
      unattached,
      sessions: last.part.sessions,
      observations: { read: observed, duplicates },
    },
    records: { observations, sessions },
    late,
    coverage: vpxd.spans(),
  };
}

export interface Analysis {
  readonly read: ReadSummary;
  /** Operations inside the time range (burst records included), which the rules saw. */
  readonly inTimeRange: number;
  /** Operations left out by `since`/`until` (operations without a time included, when a range is set). */
  readonly outsideTimeRange: number;
  readonly attribution: AttributionSummary;
  /** Spans the vpxd.log inputs cover (for direct-host-access). */
  readonly coverage: readonly CoverageSpan[];
  readonly detection: DetectResult;
}

/**
 * Reads the inputs, attributes the operations and runs the rules, as one stream: each batch of
 * released operations goes through the time range, the summary and the incremental detector, and
 * is then dropped, so memory is bounded by the open windows, not by the operations read.
 */
export async function analyze(options: AnalyzeOptions): Promise<Analysis> {
  const coverage: CoverageSpan[] = [];
  const scan = createScan({ ...options, coverage });
  const { read } = await attributeInputs({
    ...options,
    coverage,
    onOperations: (ops) => {
      scan.add(ops);
    },
  });
  return { read, coverage, ...scan.finish() };
}

/** What a scan gives once its operations are all in (`createScan().finish()`). */
export type ScanResult = Omit<Analysis, "read" | "coverage">;

/**
 * The rules and the attribution summary over operations handed in batches in time order (the
 * pipeline's releases, or stored operations): operations outside `since`/`until` are counted and
 * dropped, the rest go to the incremental detector, which is flushed at each batch's last time.
 * `coverage` may grow while operations arrive (the pipeline's live vpxd spans).
 */
export function createScan(options: {
  readonly policy: Policy;
  readonly rules?: readonly Rule[];
  readonly coverage: readonly CoverageSpan[];
  readonly since?: number;
  readonly until?: number;
  readonly onOperations?: (operations: readonly Operation[]) => void;
  /** The learned baseline the baseline rules judge against (`guestops learn`). */
  readonly baseline?: DetectDeps["baseline"];
}): { add: (operations: readonly Operation[]) => void; finish: () => ScanResult } {
  const deps: DetectDeps = {
    rules: options.rules ?? BUILTIN_RULES,
    policy: options.policy,
    coverage: options.coverage,
    ...(options.baseline ? { baseline: options.baseline } : {}),
  };
  const detector = createDetector(deps);
  const summary = new SummaryBuilder();
  const alerts: Alert[] = [];
  /** Alerts an exception covered whole (counted and reported, never silently dropped). */
  const excepted: Alert[] = [];
  const { since, until } = options;
  const ranged = since !== undefined || until !== undefined;
  let kept = 0;
  let outside = 0;
  return {
    add(operations) {
      const batch: Operation[] = [];
      let last = Number.NaN;
      for (const op of operations) {
        const t = op.time === undefined ? Number.NaN : Date.parse(op.time);
        if (!Number.isNaN(t)) last = t;
        if (ranged) {
          // an operation without a time cannot be placed in the range
          if (
            Number.isNaN(t) ||
            (since !== undefined && t < since) ||
            (until !== undefined && t >= until)
          ) {
            outside++;
            continue;
          }
        }
        batch.push(op);
        summary.add(op);
      }
      kept += batch.length;
      if (batch.length) {
        options.onOperations?.(batch);
        detector.push(batch);
      }
      if (!Number.isNaN(last)) {
        const flushed = detector.flush(last);
        alerts.push(...flushed.closed);
        excepted.push(...flushed.excepted);
      }
    },
    finish() {
      const ended = detector.end();
      alerts.push(...ended.alerts);
      excepted.push(...(ended.excepted ?? []));
      const linked = linkAlerts(alerts.sort(compareAlerts), deps);
      return {
        inTimeRange: kept,
        outsideTimeRange: outside,
        attribution: summary.result(),
        detection: {
          ...ended,
          alerts: linked.alerts,
          incidents: linked.incidents,
          ...(excepted.length > 0 ? { excepted: excepted.sort(compareAlerts) } : {}),
        },
      };
    },
  };
}

/** A record that shows vpxd.log covering its time: an LRO line, or a vpxd session line. */
export const isVpxdCoverage = (record: CanonicalRecord): boolean =>
  record.type === "observation"
    ? record.kind === "vpxd.lro" ||
      record.kind === "vpxd.lro-end" ||
      record.kind === "vpxd.lro-error"
    : record.prov.source.format === "vpxd";

/**
 * The time span of the vpxd records read from each input (and vCenter, when the records name it):
 * inside it, a guest operation made through vCenter should have left a vpxd LRO record.
 */
export class VpxdCoverage {
  readonly #spans = new Map<
    string,
    { format: "vpxd"; start: string; end: string; vcenter?: string }
  >();
  readonly #live: CoverageSpan[];

  /** `live`: an array kept up to date as records arrive, for rules that run while reading goes on. */
  constructor(live: CoverageSpan[] = []) {
    this.#live = live;
  }

  add(record: CanonicalRecord): void {
    if (record.time === undefined || !isVpxdCoverage(record)) return;
    const key = `${record.prov.source.id}\u0000${record.vcenter ?? ""}`;
    const span = this.#spans.get(key);
    if (!span) {
      const created = {
        format: "vpxd" as const,
        start: record.time,
        end: record.time,
        ...(record.vcenter !== undefined ? { vcenter: record.vcenter } : {}),
      };
      this.#spans.set(key, created);
      this.#live.push(created);
      return;
    }
    if (record.time < span.start) span.start = record.time;
    if (record.time > span.end) span.end = record.time;
  }

  /** A copy of the spans as they stand. */
  spans(): CoverageSpan[] {
    return [...this.#spans.values()].map((s) => ({ ...s }));
  }
}
