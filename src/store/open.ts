/**
 * Opening the store: one SQLite file (better-sqlite3), WAL journal, `synchronous = NORMAL` (a
 * committed transaction survives a killed process; a power cut may lose the last ones, never
 * consistency), a busy timeout for a second process, and the schema brought up to date.
 */
import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import BetterSqlite3, { type Database } from "better-sqlite3";
import { GuestOpsError } from "../shared/errors.js";
import { migrate, SCHEMA_VERSION, schemaVersion } from "./migrations.js";

export interface Store {
  readonly db: Database;
  readonly file: string;
  readonly close: () => void;
}

/**
 * Where the store lives without `--db`: `GUESTOPS_DB`, else `$XDG_DATA_HOME/guestops/guestops.db`,
 * else `~/.local/share/guestops/guestops.db`.
 */
export function defaultDbPath(env: Readonly<Record<string, string | undefined>>): string {
  const explicit = env["GUESTOPS_DB"];
  if (explicit) return explicit;
  const data = env["XDG_DATA_HOME"] || join(env["HOME"] || homedir(), ".local", "share");
  return join(data, "guestops", "guestops.db");
}

export interface OpenOptions {
  /** Base for a relative `file`. */
  readonly cwd?: string;
  /** Bring the schema up to this version only (tests of migrations). Default: the latest. */
  readonly version?: number;
}

/** Opens (creating it and its directory if needed) and migrates the store at `file`. */
export function openStore(file: string, options: OpenOptions = {}): Store {
  const path = file === ":memory:" ? file : resolve(options.cwd ?? process.cwd(), file);
  let db: Database;
  try {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    db = new BetterSqlite3(path);
  } catch (cause) {
    throw new GuestOpsError("ERR_STORE", `cannot open the store ${file}`, {
      cause,
      hint: "check that the directory exists and is writable (--db FILE or GUESTOPS_DB)",
    });
  }
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("busy_timeout = 10000");
    db.pragma("foreign_keys = ON");
    // a 64 MiB page cache and fewer, larger checkpoints: far fewer writes and syncs on big ingests
    db.pragma("cache_size = -65536");
    db.pragma("wal_autocheckpoint = 16384");
    db.pragma("temp_store = MEMORY");
    const found = schemaVersion(db);
    if (found > SCHEMA_VERSION) {
      throw new GuestOpsError(
        "ERR_STORE",
        `the store ${file} has schema version ${found}, newer than this guestops knows (${SCHEMA_VERSION})`,
        { hint: "use the guestops version that wrote it, or a newer one" },
      );
    }
    migrate(db, options.version ?? SCHEMA_VERSION);
  } catch (cause) {
    db.close();
    if (cause instanceof GuestOpsError) throw cause;
    throw new GuestOpsError("ERR_STORE", `${file} is not a guestops store`, {
      cause,
      hint: "name a new file or one guestops created (docs/store.md)",
    });
  }
  return { db, file: path, close: () => db.close() };
}
