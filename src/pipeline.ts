/**
 * `attributeInputs()`: read → attribute, the whole of `guestops events`; `analyze()`: the same, then
 * detect, the whole of `guestops scan` — both minus the command line and the output. Records stream from the readers into the correlator (memory grows with the number
 * of guest operations, never with the size of the input); the operations, cut to the requested
 * time range, go through the rules.
 */
import { createCorrelator, type CorrelationResult } from "./attribute/correlate.js";
import { summarise, type AttributionSummary } from "./attribute/summary.js";
import { detect } from "./detect/engine.js";
import { BUILTIN_RULES } from "./detect/registry.js";
import type { CoverageSpan, DetectResult, Rule } from "./detect/types.js";
import { readInputs, type ReadInputsOptions, type ReadProgress } from "./ingest/read.js";
import type { ReadSummary } from "./ingest/summary.js";
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
  /** Base for relative paths. */
  readonly cwd?: string;
  readonly onProgress?: (progress: ReadProgress) => void;
}

export interface AnalyzeOptions extends AttributeOptions {
  readonly policy: Policy;
  /** Keep operations at or after this instant (epoch ms). */
  readonly since?: number;
  /** Keep operations before this instant (epoch ms). */
  readonly until?: number;
  /** Rules to run. Default: the built-in rules. */
  readonly rules?: readonly Rule[];
}

/** Inputs read and attributed: one operation per API call. */
export interface Attributed {
  readonly read: ReadSummary;
  readonly correlated: CorrelationResult;
  /** Canonical records by type, as read. */
  readonly records: { readonly observations: number; readonly sessions: number };
  /** Spans the vpxd.log inputs cover (for direct-host-access). */
  readonly coverage: readonly CoverageSpan[];
}

/** Reads the inputs and streams their records into the correlator. */
export async function attributeInputs(options: AttributeOptions): Promise<Attributed> {
  const correlator = createCorrelator();
  const vpxd = new VpxdCoverage();
  let observations = 0;
  let sessions = 0;
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
    },
    {
      record: (record) => {
        if (record.type === "observation") observations++;
        else sessions++;
        vpxd.add(record);
        correlator.add(record);
      },
      ...(options.onProgress ? { progress: options.onProgress } : {}),
    },
  );
  return {
    read,
    correlated: correlator.finish(),
    records: { observations, sessions },
    coverage: vpxd.spans(),
  };
}

export interface Analysis {
  readonly read: ReadSummary;
  /** Operations inside the time range, in time order. */
  readonly operations: readonly Operation[];
  /** Operations left out by `since`/`until` (operations without a time included, when a range is set). */
  readonly outsideTimeRange: number;
  readonly attribution: AttributionSummary;
  /** Spans the vpxd.log inputs cover (for direct-host-access). */
  readonly coverage: readonly CoverageSpan[];
  readonly detection: DetectResult;
}

/** Reads the inputs, attributes the operations and runs the rules. */
export async function analyze(options: AnalyzeOptions): Promise<Analysis> {
  const { read, correlated, coverage } = await attributeInputs(options);
  const { kept, outside } = inTimeRange(correlated.operations, options.since, options.until);
  const detection = detect(kept, {
    rules: options.rules ?? BUILTIN_RULES,
    policy: options.policy,
    coverage,
  });
  return {
    read,
    operations: kept,
    outsideTimeRange: outside,
    attribution: summarise(kept),
    coverage,
    detection,
  };
}

function inTimeRange(
  operations: readonly Operation[],
  since: number | undefined,
  until: number | undefined,
): { kept: Operation[]; outside: number } {
  if (since === undefined && until === undefined) return { kept: [...operations], outside: 0 };
  const kept: Operation[] = [];
  for (const op of operations) {
    const t = op.time === undefined ? Number.NaN : Date.parse(op.time);
    if (Number.isNaN(t)) continue; // cannot be placed in the range
    if (since !== undefined && t < since) continue;
    if (until !== undefined && t >= until) continue;
    kept.push(op);
  }
  return { kept, outside: operations.length - kept.length };
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
  readonly #spans = new Map<string, { start: string; end: string; vcenter?: string }>();

  add(record: CanonicalRecord): void {
    if (record.time === undefined || !isVpxdCoverage(record)) return;
    const key = `${record.prov.source.id}\u0000${record.vcenter ?? ""}`;
    const span = this.#spans.get(key);
    if (!span) {
      this.#spans.set(key, {
        start: record.time,
        end: record.time,
        ...(record.vcenter !== undefined ? { vcenter: record.vcenter } : {}),
      });
      return;
    }
    if (record.time < span.start) span.start = record.time;
    if (record.time > span.end) span.end = record.time;
  }

  spans(): CoverageSpan[] {
    return [...this.#spans.values()].map((s) => ({ format: "vpxd", ...s }));
  }
}
