/** Durations as the policy and rule options write them (`10m`, `1h`, `PT90S`). */
import { z } from "zod";

/** `10m`, `1h30m`, `90s`, `2d`, or ISO 8601 `PT10M` → milliseconds. */
export function parseDuration(input: string): number | undefined {
  const s = input.trim().toLowerCase();
  const iso = /^pt?(?:(\d+)d)?t?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(s);
  const plain = /^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m(?:in)?)?\s*(?:(\d+)s)?$/.exec(s);
  const m = s.startsWith("p") ? iso : plain;
  if (!m || s === "" || s === "p" || s === "pt") return undefined;
  const [d, h, min, sec] = [m[1], m[2], m[3], m[4]].map((x) => (x ? Number(x) : 0));
  const ms = ((((d ?? 0) * 24 + (h ?? 0)) * 60 + (min ?? 0)) * 60 + (sec ?? 0)) * 1000;
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}

/** A duration field of the policy or of a rule's options, kept as written (`10m`). */
export const durationText = z
  .string({ error: "expected a duration such as 10m, 1h or 90s" })
  .refine((s) => parseDuration(s) !== undefined, "expected a duration such as 10m, 1h or 90s");
