/**
 * A canonical dump of what the store holds, independent of the order and the runs that wrote it:
 * counts, and digests of the sorted record keys and of the sorted operations (id and content hash).
 * Two stores that hold the same evidence and the same operations dump the same.
 */
import { createHash } from "node:crypto";
import type { Database } from "better-sqlite3";

export interface StoreDump {
  readonly records: number;
  readonly operations: number;
  readonly alerts: number;
  /** SHA-256 over the sorted record keys. */
  readonly recordKeys: string;
  /** SHA-256 over the sorted `id hash` lines of the operations. */
  readonly operationHashes: string;
  readonly operationIds: readonly string[];
}

export function dumpStore(db: Database): StoreDump {
  const keys = createHash("sha256");
  let records = 0;
  for (const row of db.prepare(`SELECT key FROM records ORDER BY key`).iterate() as Iterable<{
    key: string;
  }>) {
    keys.update(`${row.key}\n`);
    records++;
  }
  const ops = db.prepare(`SELECT id, hash FROM operations ORDER BY id`).all() as {
    id: string;
    hash: string;
  }[];
  const hashes = createHash("sha256");
  for (const op of ops) hashes.update(`${op.id} ${op.hash}\n`);
  const alerts = (
    db.prepare(`SELECT count(*) AS n FROM alerts WHERE status = 'open'`).get() as { n: number }
  ).n;
  return {
    records,
    operations: ops.length,
    alerts,
    recordKeys: keys.digest("hex"),
    operationHashes: hashes.digest("hex"),
    operationIds: ops.map((o) => o.id),
  };
}
