/**
 * Small helpers rules share to write reasons that name the facts: who, which VM, which host,
 * when in the site's local time. Reasons are plain text; formatters escape them on output.
 */
import { DateTime } from "luxon";
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
 * when the operation has none.
 */
export function localTime(time: string | undefined, zone: string): string {
  if (time === undefined) return "an unknown time";
  const dt = DateTime.fromISO(time, { zone: "utc" }).setZone(zone).setLocale("en-US");
  if (!dt.isValid) return time;
  return `${dt.toFormat("ccc yyyy-LL-dd HH:mm")} ${zone} (UTC${dt.toFormat("ZZ")})`;
}

/** `HH:mm` in the zone, for ranges. */
export function localClock(time: string, zone: string): string {
  const dt = DateTime.fromISO(time, { zone: "utc" }).setZone(zone);
  return dt.isValid ? dt.toFormat("HH:mm") : time;
}
