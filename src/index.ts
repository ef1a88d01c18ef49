/**
 * @module guestops — library API: canonical records, the method catalog, readers and CLI entry.
 */
export * from "./model/catalog.js";
export type * from "./model/record.js";
export type * from "./model/operation.js";
export type * from "./ingest/types.js";
export { parseEnvelope } from "./ingest/syslog/envelope.js";
export { openRouter, type ReaderLookup } from "./ingest/readers/syslog/index.js";
export { GuestOpsError, isGuestOpsError, type ErrorCode } from "./shared/errors.js";
export { run } from "./cli/run.js";
export * from "./policy/index.js";
