/**
 * Explicit registry of readers, in detection-priority order (ties go to the earlier one).
 * Adding a format is one import and one entry here.
 */
import type { FormatName } from "../model/record.js";
import type { Reader } from "./types.js";
import { siemJsonReader } from "./readers/siem-json/index.js";
import { vcEventsJsonReader } from "./readers/vc-events-json/index.js";
import { vcEventsReader } from "./readers/vc-events/index.js";
import { vmxReader } from "./readers/vmx/index.js";
import { vpxdReader } from "./readers/vpxd/index.js";

export const readers: readonly Reader[] = [
  vmxReader,
  vpxdReader,
  vcEventsReader,
  vcEventsJsonReader,
  siemJsonReader,
];

export const readerByName = (name: FormatName): Reader | undefined =>
  readers.find((r) => r.name === name);
