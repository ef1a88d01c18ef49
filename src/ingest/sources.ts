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

/**
 * Expands `paths` (relative to `cwd`). Directories are walked depth-first with entries sorted by
 * name (code-unit order, so the order does not depend on the locale); symbolic links are followed,
 * directory loops are not; sockets, FIFOs and devices found inside a directory are left out (named
 * explicitly, they are read as streams). A file reached twice (named twice, or also found under a
 * named directory) is read once, at its first position.
 *
 * @throws GuestOpsError ERR_INPUT_MISSING for a path that does not exist, ERR_INPUT_UNREADABLE for
 *   one that cannot be read, ERR_USAGE for `-` named twice.
 */
export async function expandPaths(
  paths: readonly string[],
  cwd: string = process.cwd(),
): Promise<SourceEntry[]> {
  const out: SourceEntry[] = [];
  const seenFiles = new Set<string>();
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
      await walk(named, absolute, out, seenFiles, new Set());
    } else {
      await addFile(named, absolute, stats, out, seenFiles);
    }
  }
  return out;
}

async function walk(
  shown: string,
  absolute: string,
  out: SourceEntry[],
  seenFiles: Set<string>,
  ancestors: Set<string>,
): Promise<void> {
  const real = await realpathOrThrow(shown, absolute);
  if (ancestors.has(real)) return; // a symbolic link back up the tree
  let names: string[];
  try {
    names = await fs.readdir(absolute);
  } catch (cause) {
    throw inputError(shown, cause);
  }
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const inner = new Set(ancestors).add(real);
  for (const name of names) {
    const childShown = join(shown, name);
    const childAbs = join(absolute, name);
    let stats: Stats;
    try {
      stats = await fs.stat(childAbs);
    } catch (cause) {
      // a dangling symbolic link inside a directory is not an input
      if (isSystemError(cause) && cause.code === "ENOENT") continue;
      throw inputError(childShown, cause);
    }
    if (stats.isDirectory()) await walk(childShown, childAbs, out, seenFiles, inner);
    else if (stats.isFile()) await addFile(childShown, childAbs, stats, out, seenFiles);
  }
}

async function addFile(
  shown: string,
  absolute: string,
  stats: Stats,
  out: SourceEntry[],
  seenFiles: Set<string>,
): Promise<void> {
  try {
    await fs.access(absolute, constants.R_OK);
  } catch (cause) {
    throw inputError(shown, cause);
  }
  const real = await realpathOrThrow(shown, absolute);
  if (seenFiles.has(real)) return;
  seenFiles.add(real);
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

async function realpathOrThrow(shown: string, absolute: string): Promise<string> {
  try {
    return await fs.realpath(absolute);
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
