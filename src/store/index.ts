/** The store's public surface (docs/store.md). */
export { defaultDbPath, openStore, type Store } from "./open.js";
export { migrate, MIGRATIONS, SCHEMA_VERSION, schemaVersion } from "./migrations.js";
export { ingestIntoStore, type IngestOptions, type IngestReport } from "./ingest.js";
export {
  attributePending,
  CHUNK_MS,
  observationMarginMs,
  reachMs,
  storedOperations,
  type AttributeReport,
} from "./operations.js";
export { storeFindings, storedFindings, type Finding, type FindingChanges } from "./alerts.js";
export { applyRetention, parseRetention, type RetentionReport } from "./retention.js";
export { storedCoverage } from "./coverage.js";
export { dumpStore, type StoreDump } from "./dump.js";
export {
  acceptAlert,
  acceptedAlerts,
  beginRun,
  finishRun,
  learnFromStore,
  loadBaseline,
  saveBaseline,
  type LearnStoreOptions,
} from "./baseline.js";
export { learnIntoStore, type LearningOptions, type LearningReport } from "./learning.js";
