/**
 * `events --db` and `scan --db`: the inputs are ingested first, then the answer comes from the
 * store — every stored operation (within `since`/`until`), and for `scan` the rules run over them,
 * with the alerts (and incidents, when detection gives them) stored with their revisions.
 */
import type { Operation } from "../model/operation.js";
import { recordKey } from "../model/record-key.js";
import {
  createScan,
  type Analysis,
  type AnalyzeOptions,
  type AttributeOptions,
  type Attributed,
} from "../pipeline.js";
import { storeFindings, type Finding } from "./alerts.js";
import { storedCoverage } from "./coverage.js";
import { loadBaseline } from "./baseline.js";
import { ingestIntoStore, type IngestReport } from "./ingest.js";
import { openStore } from "./open.js";
import { parseOperation, storedOperations } from "./operations.js";

/** Stored operations handed to the scan at a time. */
const SCAN_BATCH = 1_000;

/** Stored operations in batches of `SCAN_BATCH`, in the order read. */
function* batchesOf(operations: Iterable<Operation>): Generator<Operation[]> {
  let batch: Operation[] = [];
  for (const op of operations) {
    batch.push(op);
    if (batch.length >= SCAN_BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

const countOf = (report: IngestReport, type: "observation" | "session"): number =>
  type === "observation" ? report.records.observations : report.records.sessions;

async function ingestFor(file: string, command: string, options: AttributeOptions) {
  const store = openStore(file, options.cwd !== undefined ? { cwd: options.cwd } : {});
  try {
    const report = await ingestIntoStore(store.db, {
      ...options,
      command,
      args: [...options.paths],
    });
    return { store, report };
  } catch (error) {
    store.close();
    throw error;
  }
}

/**
 * `attributeInputs()` through the store at `file`: every stored operation, handed to
 * `onOperations` in batches in time order (else gathered into `correlated.operations`).
 */
export async function attributeWithStore(
  file: string,
  options: AttributeOptions & {
    readonly onOperations?: (operations: readonly Operation[]) => void | Promise<void>;
  },
): Promise<Attributed> {
  const { store, report } = await ingestFor(file, "events", options);
  try {
    const gathered: Operation[] = [];
    const deliver = options.onOperations ?? ((ops) => void gathered.push(...ops));
    for (const batch of batchesOf(storedOperations(store.db))) await deliver(batch);
    return {
      read: report.read,
      correlated: {
        operations: gathered,
        unattached: [],
        sessions: { records: countOf(report, "session"), sessions: 0 },
        observations: { read: countOf(report, "observation"), duplicates: 0 },
      },
      records: {
        observations: countOf(report, "observation"),
        sessions: countOf(report, "session"),
      },
      coverage: storedCoverage(store.db),
      late: 0,
    };
  } finally {
    store.close();
  }
}

/** `analyze()` through the store at `file`; the alerts of the range are stored with revisions. */
export async function analyzeWithStore(file: string, options: AnalyzeOptions): Promise<Analysis> {
  const { store, report } = await ingestFor(file, "scan", options);
  try {
    const range = {
      ...(options.since !== undefined ? { from: options.since } : {}),
      ...(options.until !== undefined ? { to: options.until } : {}),
    };
    const total = (store.db.prepare(`SELECT count(*) AS n FROM operations`).get() as { n: number })
      .n;
    const coverage = storedCoverage(store.db);
    // the learned baseline, when `guestops learn` stored one (docs/detection.md)
    const baseline = loadBaseline(store.db)?.baseline;
    // stored operations stream through the same scan as the pipeline's, a batch at a time
    const scan = createScan({ ...options, coverage, ...(baseline ? { baseline } : {}) });
    for (const batch of batchesOf(storedOperations(store.db, range))) scan.add(batch);
    const result = scan.finish();
    const { detection } = result;
    /** The records an alert rests on: those of its operations, read back by id. */
    const byId = store.db.prepare(`SELECT body FROM operations WHERE id = ?`);
    const keysOf = (id: string): string[] => {
      const row = byId.get(id) as { body: string } | undefined;
      if (!row) return [];
      const op = parseOperation(row.body);
      return [
        ...op.observations.map((o) => recordKey(o)),
        ...(op.sessions ?? []).map((s) => recordKey(s)),
      ];
    };
    const alertEvidence = new Map<string, string[]>();
    for (const alert of detection.alerts) {
      alertEvidence.set(
        alert.id,
        alert.operations.flatMap((o) => keysOf(o.id)),
      );
    }
    const evidenceOf = (finding: Finding): string[] => alertEvidence.get(finding.id) ?? [];
    storeFindings(store.db, "alerts", report.runId, detection.alerts, range, evidenceOf);
    /** An incident rests on the records of its alerts. */
    const alertsOf = new Map(detection.incidents.map((i) => [i.id, i.alerts]));
    const incidentEvidence = (finding: Finding): string[] =>
      (alertsOf.get(finding.id) ?? []).flatMap((id) => alertEvidence.get(id) ?? []);
    storeFindings(
      store.db,
      "incidents",
      report.runId,
      detection.incidents,
      range,
      incidentEvidence,
    );
    return {
      read: report.read,
      coverage,
      ...result,
      outsideTimeRange: total - result.inTimeRange,
    };
  } finally {
    store.close();
  }
}
