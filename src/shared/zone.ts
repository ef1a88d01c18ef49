/** IANA time-zone names, checked the same way for `--assume-tz`, policy sites and calendars. */
import { IANAZone } from "luxon";

/** True for IANA zone names the runtime knows (`Europe/Paris`, `UTC`); false for offsets. */
export function isValidZone(zone: string): boolean {
  if (zone === "UTC") return true; // the default: no need to load the zone data
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(zone)) return false;
  return IANAZone.isValidZone(zone);
}
