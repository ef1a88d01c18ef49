/**
 * Explicit registry of readers, in detection-priority order (ties go to the earlier one).
 * Adding a format is one import and one entry here.
 */
import type { FormatName } from "../model/record.js";
import type { Reader } from "./types.js";
import { esxAuditReader } from "./readers/esx-audit/index.js";
import { hostdReader } from "./readers/hostd/index.js";
import { createSiemJsonReaderFor } from "./readers/siem-json/index.js";
import { createSyslogReader } from "./readers/syslog/index.js";
import { vcEventsJsonReader } from "./readers/vc-events-json/index.js";
import { vcEventsReader } from "./readers/vc-events/index.js";
import { vmxReader } from "./readers/vmx/index.js";
import { vobdReader } from "./readers/vobd/index.js";
import { vpxdReader } from "./readers/vpxd/index.js";

export const readers: readonly Reader[] = [
  esxAuditReader,
  hostdReader,
  vmxReader,
  vpxdReader,
  vcEventsReader,
  vobdReader,
  // The syslog router dispatches to the readers above through this lookup (called at read time).
  createSyslogReader((name) => readerByName(name)),
  vcEventsJsonReader,
  createSiemJsonReaderFor((name) => readerByName(name)),
];

export const readerByName = (name: FormatName): Reader | undefined =>
  readers.find((r) => r.name === name);
