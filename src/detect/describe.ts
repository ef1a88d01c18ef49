/**
 * Small helpers rules share to write reasons that name the facts: who, which VM, which host,
 * when in the site's local time. Reasons are plain text; formatters escape them on output.
 */
import { dayLabel, formatDate, localTime as zoneTime, offsetAt } from "../policy/windows.js";
import type { Operation } from "../model/operation.js";
import { isAttributed, isVpxuserThroughVcenter, vmDisplay } from "./group.js";

/** The principal as a reason names it. */
export function who(op: Operation): string {
  const { attribution } = op;
  if (isAttributed(op) && attribution.principal) return attribution.principal.display;
  if (attribution.level === "ambiguous" && attribution.candidates?.length) {
    return `an ambiguous principal (${attribution.candidates.map((c) => c.display).join(" or ")})`;
  }
  if (isVpxuserThroughVcenter(op)) return "vpxuser through vCenter (end user unknown)";
  return "an unattributed principal";
}

/** The method as a reason names it. */
export const method = (op: Operation): string =>
  op.api === "unknown" ? "a guest operation vCenter did not name" : op.api;

/** `VM dc01 on host esx01.corp.example` (host omitted when unknown). */
export const where = (op: Operation): string =>
  `VM ${vmDisplay(op)}${op.host !== undefined ? ` on host ${op.host}` : ""}`;

/**
 * Local time in the site's zone: `Sat 2026-03-14 03:02 Europe/Paris (UTC+01:00)`; `an unknown time`
 * when the operation has none. Uses the policy's cached zone offsets (no Intl per call).
 */
export function localTime(time: string | undefined, zone: string): string {
  if (time === undefined) return "an unknown time";
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) return time;
  const t = zoneTime(zone, ms);
  const offset = offsetAt(zone, ms);
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  const utc = `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  return `${dayLabel(t.weekday)} ${formatDate(t)} ${pad(t.hour)}:${pad(t.minute)} ${zone} (${utc})`;
}

/** `HH:mm` in the zone, for ranges. */
export function localClock(time: string, zone: string): string {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) return time;
  const t = zoneTime(zone, ms);
  return `${pad(t.hour)}:${pad(t.minute)}`;
}

const pad = (n: number): string => String(n).padStart(2, "0");
