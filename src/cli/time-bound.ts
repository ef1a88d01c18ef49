/** `--since` / `--until`, read the same way by every command that filters by time. */
import { DateTime } from "luxon";
import { escapeTerminal } from "../report/escape.js";
import { GuestOpsError } from "../shared/errors.js";
import { parseIsoInstant, wallToUtc } from "../shared/zone.js";

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const HAS_ZONE = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;
const HINT = (zone: string): string =>
  `give ISO 8601 with a zone (2026-03-14T02:00Z, 2026-03-14T03:00+01:00; offsets up to ±18:00) or a date (2026-03-14, taken in ${zone})`;

/**
 * ISO 8601 with a zone (`2026-03-14T02:00Z`, `2026-03-14T03:00+01:00`, offset within ±18:00), or
 * a date taken in `zone`: `since` from the day's start, `until` up to its end (the next day's
 * start, exclusive); a day's start goes through the one wall-clock conversion (`shared/zone.ts`).
 * Returns epoch milliseconds; anything else is a usage error.
 */
export function parseTimeBound(text: string, zone: string, bound: "since" | "until"): number {
  const value = text.trim();
  const date = DATE_ONLY.exec(value);
  if (date) {
    const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])];
    const probe = new Date(Date.UTC(y, m - 1, d));
    if (probe.getUTCMonth() === m - 1 && probe.getUTCDate() === d) {
      const ms = wallToUtc(zone, y, m, bound === "since" ? d : d + 1, 0, 0, 0, 0, "start");
      if (!Number.isNaN(ms)) return ms;
    }
  } else if (HAS_ZONE.test(value)) {
    const t = parseIsoInstant(value);
    if (t !== undefined) return t;
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

/** `--since` and `--until` together, in `zone`; an empty or inverted range is a usage error. */
export function timeRange(
  options: { readonly since?: string | undefined; readonly until?: string | undefined },
  zone: string,
): { since: number | undefined; until: number | undefined } {
  const since =
    options.since === undefined ? undefined : parseTimeBound(options.since, zone, "since");
  const until =
    options.until === undefined ? undefined : parseTimeBound(options.until, zone, "until");
  if (since !== undefined && until !== undefined && until <= since) {
    throw new GuestOpsError("ERR_USAGE", "--until must be later than --since");
  }
  return { since, until };
}
