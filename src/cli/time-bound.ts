/** `--since` / `--until`, read the same way by every command that filters by time. */
import { DateTime } from "luxon";
import { escapeTerminal } from "../report/escape.js";
import { GuestOpsError } from "../shared/errors.js";

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const HAS_ZONE = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;
const HINT = (zone: string): string =>
  `give ISO 8601 with a zone (2026-03-14T02:00Z, 2026-03-14T03:00+01:00) or a date (2026-03-14, taken in ${zone})`;

/**
 * ISO 8601 with a zone (`2026-03-14T02:00Z`, `2026-03-14T03:00+01:00`), or a date taken in `zone`:
 * `since` from the day's start, `until` up to its end (the next day's start, exclusive). Returns
 * epoch milliseconds; anything else is a usage error.
 */
export function parseTimeBound(text: string, zone: string, bound: "since" | "until"): number {
  const value = text.trim();
  if (DATE_ONLY.test(value)) {
    const day = DateTime.fromISO(value, { zone });
    if (day.isValid) {
      return (
        bound === "since" ? day.startOf("day") : day.startOf("day").plus({ days: 1 })
      ).toMillis();
    }
  } else if (HAS_ZONE.test(value)) {
    const t = DateTime.fromISO(value, { setZone: true });
    if (t.isValid) return t.toMillis();
  } else if (DateTime.fromISO(value).isValid) {
    // A local time without a zone is ambiguous: refuse it rather than guess a zone.
    throw new GuestOpsError("ERR_USAGE", `--${bound} ${escapeTerminal(value)} has no zone`, {
      hint: HINT(zone),
    });
  }
  throw new GuestOpsError(
    "ERR_USAGE",
    `--${bound} ${escapeTerminal(value)} is not a time guestops understands`,
    { hint: HINT(zone) },
  );
}
