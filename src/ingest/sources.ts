/**
 * Turns the paths a user named into the list of inputs to read: files as named, directories
 * walked recursively in a deterministic order, `-` for standard input. Every input is checked
 * before anything is read, so a missing or unreadable path stops the run up front (exit 2).
 */
import { constants, promises as fs, type Stats } from "node:fs";
import { join, resolve } from "node:path";
import { GuestOpsError, isSystemError } from "../shared/errors.js";

export interface SourceEntry {
  /** The path as named, or joined under the named directory; `-` for standard input. */
  readonly path: string;
  readonly kind: "file" | "stdin";
  /** Absolute path used to open the file. */
  readonly absolute?: string;
  /** Size in bytes for regular files (progress, and whether hashing runs on a worker). */
  readonly size?: number;
  /** Modification time (ISO 8601): the reference time for year-less timestamps. */
  readonly mtime?: string;
}

/** What a walked directory held that is not read: counted in the summary by kind. */
export type SkippedEntryKind = "dangling-link" | "fifo" | "socket" | "device" | "other";

export interface SkippedEntry {
  readonly path: string;
  readonly kind: SkippedEntryKind;
}

/**
 * Expands `paths` (relative to `cwd`). Directories are walked depth-first with entries sorted by
 * name (code-unit order, so the order does not depend on the locale); symbolic links are followed.
 * Every real directory and file (by device and inode) is visited once, at its first position,
 * however many links lead to it: a loop is not walked twice, nor is a DAG of links walked once per
 * path through it. Dangling links, sockets, FIFOs and devices found inside a directory are not
 * read and are reported to `onSkipped` with their kind (named explicitly, a FIFO or device is read
 * as a stream).
 *
 * @throws GuestOpsError ERR_INPUT_MISSING for a path that does not exist, ERR_INPUT_UNREADABLE for
 *   one that cannot be read, ERR_USAGE for `-` named twice.
 */
export async function expandPaths(
  paths: readonly string[],
  cwd: string = process.cwd(),
  onSkipped?: (entry: SkippedEntry) => void,
): Promise<SourceEntry[]> {
  const out: SourceEntry[] = [];
  const seen: Seen = { files: new Set(), dirs: new Set(), onSkipped };
  let stdinSeen = false;
  for (const named of paths) {
    if (named === "-") {
      if (stdinSeen) {
        throw new GuestOpsError("ERR_USAGE", "standard input (-) is named more than once", {
          hint: "Name - once; standard input can only be read once.",
        });
      }
      stdinSeen = true;
      out.push({ path: "-", kind: "stdin" });
      continue;
    }
    const absolute = resolve(cwd, named);
    const stats = await statOrThrow(named, absolute);
    if (stats.isDirectory()) {
      await walk(named, absolute, stats, out, seen);
    } else {
      await addFile(named, absolute, stats, out, seen);
    }
  }
  return out;
}

/** Real files and directories already listed (`dev:ino`), shared by the whole expansion. */
interface Seen {
  readonly files: Set<string>;
  readonly dirs: Set<string>;
  readonly onSkipped: ((entry: SkippedEntry) => void) | undefined;
}

/**
 * A real file's identity: device and inode; where a file system reports no inode (0), the
 * resolved path (symbolic links followed) stands in.
 */
async function identity(stats: Stats, shown: string, absolute: string): Promise<string> {
  if (stats.ino !== 0) return `${stats.dev}:${stats.ino}`;
  try {
    return `path:${await fs.realpath(absolute)}`;
  } catch (cause) {
    throw inputError(shown, cause);
  }
}

/**
 * Depth-first walk. The recursion is as deep as the directory tree (each real directory is
 * entered once), not as long as the input.
 */
async function walk(
  shown: string,
  absolute: string,
  stats: Stats,
  out: SourceEntry[],
  seen: Seen,
): Promise<void> {
  const id = await identity(stats, shown, absolute);
  if (seen.dirs.has(id)) return; // reached before, through another link (or a loop)
  seen.dirs.add(id);
  let names: string[];
  try {
    names = await fs.readdir(absolute);
  } catch (cause) {
    throw inputError(shown, cause);
  }
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    const childShown = join(shown, name);
    const childAbs = join(absolute, name);
    let child: Stats;
    try {
      child = await fs.stat(childAbs);
    } catch (cause) {
      // a dangling symbolic link (or one that loops on itself) inside a directory is not an input
      if (isSystemError(cause) && (cause.code === "ENOENT" || cause.code === "ELOOP")) {
        seen.onSkipped?.({ path: childShown, kind: "dangling-link" });
        continue;
      }
      throw inputError(childShown, cause);
    }
    if (child.isDirectory()) await walk(childShown, childAbs, child, out, seen);
    else if (child.isFile()) await addFile(childShown, childAbs, child, out, seen);
    else seen.onSkipped?.({ path: childShown, kind: specialKind(child) });
  }
}

function specialKind(stats: Stats): SkippedEntryKind {
  if (stats.isFIFO()) return "fifo";
  if (stats.isSocket()) return "socket";
  if (stats.isBlockDevice() || stats.isCharacterDevice()) return "device";
  return "other";
}

async function addFile(
  shown: string,
  absolute: string,
  stats: Stats,
  out: SourceEntry[],
  seen: Seen,
): Promise<void> {
  try {
    await fs.access(absolute, constants.R_OK);
  } catch (cause) {
    throw inputError(shown, cause);
  }
  const id = await identity(stats, shown, absolute);
  if (seen.files.has(id)) return;
  seen.files.add(id);
  const regular = stats.isFile();
  out.push({
    path: shown,
    kind: "file",
    absolute,
    ...(regular ? { size: stats.size } : {}),
    ...(regular && Number.isFinite(stats.mtimeMs) ? { mtime: stats.mtime.toISOString() } : {}),
  });
}

async function statOrThrow(shown: string, absolute: string): Promise<Stats> {
  try {
    return await fs.stat(absolute);
  } catch (cause) {
    throw inputError(shown, cause);
  }
}

/** Maps a system error on an input path to a usage error; anything else is a bug and rethrown. */
export function inputError(shown: string, cause: unknown): GuestOpsError {
  if (!isSystemError(cause)) throw cause;
  if (cause.code === "ENOENT" || cause.code === "ENOTDIR") {
    return new GuestOpsError("ERR_INPUT_MISSING", `no such file or directory: ${quote(shown)}`, {
      cause,
      hint: "Check the path. Use - to read standard input.",
    });
  }
  return new GuestOpsError(
    "ERR_INPUT_UNREADABLE",
    `cannot read ${quote(shown)} (${cause.code ?? "error"})`,
    {
      cause,
      hint: "Check that the file exists and that this user may read it.",
    },
  );
}

/** A path for a message: JSON-quoted (C0 controls show as escapes; the CLI escapes the rest). */
const quote = (path: string): string => JSON.stringify(path);
