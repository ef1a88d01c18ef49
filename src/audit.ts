/**
 * What `guestops coverage` and `guestops report` read: the pipeline's answer (or the store's, with
 * `db`) and the logging coverage of the same records, gathered in the same pass. Stateless, every
 * record is seen as it is read; with a store, the inputs are ingested first and the coverage is
 * gathered from every stored record.
 */
import { SummaryBuilder } from "./attribute/summary.js";
import { CoverageCollector } from "./coverage/collect.js";
import { coverageReport, type CoverageReport } from "./coverage/findings.js";
import type { ReadSummary } from "./ingest/summary.js";
import type { Operation } from "./model/operation.js";
import {
  analyze,
  attributeInputs,
  type Analysis,
  type AnalyzeOptions,
  type AttributeOptions,
} from "./pipeline.js";
import type { Database } from "better-sqlite3";
import type { Policy } from "./policy/types.js";
import type { openStore as OpenStore } from "./store/open.js";

export interface CoverageGatherOptions extends AttributeOptions {
  readonly policy: Policy;
  /** The store to ingest into and read from; undefined: stateless. */
  readonly db?: string;
  /** Retention is measured back from this instant (epoch ms); default: the newest record. */
  readonly asOf?: number;
}

/** The coverage of the inputs (or of the store after ingesting them). */
export async function gatherCoverage(
  options: CoverageGatherOptions,
): Promise<{ read: ReadSummary; coverage: CoverageReport }> {
  const { policy } = options;
  const collector = new CoverageCollector(policy.coverage.gapMs);
  const asOf = options.asOf !== undefined ? { asOf: options.asOf } : {};
  if (options.db !== undefined) {
    const [{ attributeWithStore }, { openStore }, { feedStoredCoverage }] = await Promise.all([
      import("./store/answer.js"),
      import("./store/open.js"),
      import("./store/coverage.js"),
    ]);
    const summary = new SummaryBuilder();
    const attributed = await attributeWithStore(options.db, {
      ...options,
      onOperations: (batch) => {
        for (const op of batch) summary.add(op);
      },
    });
    fromStore(options.db, options.cwd, openStore, (db) => feedStoredCoverage(db, collector));
    const attribution = summary.result();
    return {
      read: attributed.read,
      coverage: coverageReport(
        collector.snapshot(policy.coverage.gapMs),
        attribution,
        policy,
        asOf,
      ),
    };
  }
  // operations stream through the coverage collector and the summary, and are dropped
  const summary = new SummaryBuilder();
  const attributed = await attributeInputs({
    ...options,
    onRecord: (r) => collector.add(r),
    onEventKey: (source, key, _time, ms, vcenter, line) =>
      collector.addKey(source, key, ms, vcenter, line),
    onOperations: (batch) => {
      for (const op of batch) {
        collector.addOperation(op);
        summary.add(op);
      }
    },
  });
  for (const u of attributed.correlated.unattached) summary.unattached(u);
  return {
    read: attributed.read,
    coverage: coverageReport(
      collector.snapshot(policy.coverage.gapMs),
      summary.result(),
      policy,
      asOf,
    ),
  };
}

/** What the report rests on: the inputs read (or held by the store) and their records. */
export interface Held {
  readonly inputs: number;
  readonly records: number;
}

export interface AuditOptions extends AnalyzeOptions {
  readonly db?: string;
  readonly asOf?: number;
}

/**
 * The scan (alerts, incidents, and the operations of the range: the report is built from them,
 * so they are held) and the coverage, for the report.
 */
export async function gatherAudit(options: AuditOptions): Promise<{
  analysis: Analysis;
  operations: Operation[];
  coverage: CoverageReport;
  held: Held;
}> {
  const { policy } = options;
  const operations: Operation[] = [];
  const collector = new CoverageCollector(policy.coverage.gapMs);
  const asOf = options.asOf !== undefined ? { asOf: options.asOf } : {};
  let analysis: Analysis;
  let held: Held;
  if (options.db !== undefined) {
    const [{ analyzeWithStore }, { openStore }, { feedStoredCoverage }] = await Promise.all([
      import("./store/answer.js"),
      import("./store/open.js"),
      import("./store/coverage.js"),
    ]);
    analysis = await analyzeWithStore(options.db, {
      ...options,
      onOperations: (batch) => {
        for (const op of batch) operations.push(op);
      },
    });
    const range = {
      ...(options.since !== undefined ? { from: options.since } : {}),
      ...(options.until !== undefined ? { to: options.until } : {}),
    };
    held = fromStore(options.db, options.cwd, openStore, (db) => {
      feedStoredCoverage(db, collector, range);
      const count = (table: string): number =>
        (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      return { inputs: count("inputs"), records: count("records") };
    });
  } else {
    analysis = await analyze({
      ...options,
      onRecord: (r) => collector.add(r),
      onEventKey: (source, key, _time, ms, vcenter, line) =>
        collector.addKey(source, key, ms, vcenter, line),
      onOperations: (batch) => {
        for (const op of batch) {
          operations.push(op);
          collector.addOperation(op);
        }
      },
    });
    held = {
      inputs: analysis.read.inputs.filter((i) => i.status !== "archive").length,
      records: analysis.read.totals.records,
    };
  }
  const data = collector.snapshot(policy.coverage.gapMs);
  return {
    analysis,
    operations,
    coverage: coverageReport(data, analysis.attribution, policy, asOf),
    held,
  };
}

function fromStore<T>(
  file: string,
  cwd: string | undefined,
  open: typeof OpenStore,
  use: (db: Database) => T,
): T {
  const store = open(file, cwd !== undefined ? { cwd } : {});
  try {
    return use(store.db);
  } finally {
    store.close();
  }
}
