/**
 * Explicit registry of readers, in detection-priority order (ties go to the earlier one).
 * Adding a format is one import and one entry here.
 */
import type { FormatName } from "../model/record.js";
import type { Reader } from "./types.js";

export const readers: readonly Reader[] = [];

export const readerByName = (name: FormatName): Reader | undefined =>
  readers.find((r) => r.name === name);
