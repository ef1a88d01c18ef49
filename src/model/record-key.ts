/**
 * The content identity of a canonical record: the same line read through `hostd.log`, a grown
 * `hostd.log`, a rotated `hostd.0.gz` or a support bundle has the same key. It is built from what
 * the record says and where it was said (format, host, raw text, line count), never from the file
 * name, the file's SHA-256 or the line number. Operation and alert ids derive from it.
 */
import { createHash } from "node:crypto";
import type { CanonicalRecord } from "./record.js";

const cache = new WeakMap<CanonicalRecord, string>();

/**
 * 32 hex digits (128 bits) of SHA-256 over the source format, the host (the record's, else the
 * input's host hint), the raw text with its encoding, and the number of physical lines.
 */
export function recordKey(record: CanonicalRecord): string {
  const known = cache.get(record);
  if (known !== undefined) return known;
  const { prov } = record;
  const host = record.host ?? prov.source.hostHint ?? "";
  const key = createHash("sha256")
    .update(
      `${prov.source.format ?? ""}\u0000${host}\u0000${prov.lineCount}\u0000${prov.rawEncoding ?? ""}\u0000`,
    )
    .update(prov.raw)
    .digest("hex")
    .slice(0, 32);
  cache.set(record, key);
  return key;
}

/**
 * Records rebuilt from the store carry the key they were stored under: it is the one their ids
 * derive from, and hashing every record read back again would cost as much as reading it.
 */
export function knownRecordKey(record: CanonicalRecord, key: string): void {
  cache.set(record, key);
}
