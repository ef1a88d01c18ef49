/**
 * The policy file schema (zod). Unknown keys are errors everywhere: a typo must never silently
 * weaken a policy. Field-level checks (times, zones, methods, addresses, RRULEs) live here so that
 * every problem carries the path of the field, which load.ts maps to a line of the file.
 */
import { z } from "zod";
import { BUILTIN_RULES } from "../detect/registry.js";
import { lookupMethod } from "../model/catalog.js";
import { durationText, parseDuration } from "../shared/duration.js";
import { parseCidr } from "./match.js";
import { ROLES, SEVERITIES } from "./types.js";
import {
  checkRrule,
  isValidZone,
  parseDays,
  parseHhMm,
  parsePolicyInstant,
  parseWallTime,
} from "./windows.js";

export const CATEGORIES = ["execute", "query", "modify", "auth", "alias", "registry"] as const;

// Control characters never belong in a policy name (they would reach terminals through reasons).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const text = (what: string) =>
  z
    .string({ error: `expected ${what} (text)` })
    .trim()
    .min(1, `${what} must not be empty`)
    .max(512, `${what} is longer than 512 characters`)
    .refine((s) => !CONTROL.test(s), `${what} contains control characters`);

const hhmm = (allow24: boolean) =>
  z
    .string({ error: "expected HH:MM" })
    .refine(
      (s) => parseHhMm(s, allow24) !== undefined,
      allow24 ? "expected HH:MM between 00:00 and 24:00" : "expected HH:MM between 00:00 and 23:59",
    );

const dayList = z
  .union([z.string(), z.array(z.string({ error: "expected a day name" })).min(1)], {
    error: "expected days: a list like [mon, tue] or a range like mon-fri",
  })
  .superRefine((value, ctx) => {
    const items = typeof value === "string" ? value.split(",") : value;
    items.forEach((item, i) => {
      if (!parseDays(item)) {
        ctx.addIssue({
          code: "custom",
          message: `unknown day "${item.slice(0, 40)}" (use mon…sun, a range like mon-fri, weekdays, weekend or daily)`,
          path: typeof value === "string" ? [] : [i],
        });
      }
    });
  });

export const SpanSchema = z
  .strictObject({ days: dayList, start: hhmm(false), end: hhmm(true) })
  .refine((s) => s.start !== s.end, {
    message: "start equals end: an empty span (for all day use 00:00 to 24:00)",
    path: ["end"],
  });

const spans = z.array(SpanSchema, { error: "expected a list of {days, start, end}" });

const zone = z
  .string({ error: "expected an IANA time zone such as Europe/Paris" })
  .refine(isValidZone, "expected an IANA time zone such as Europe/Paris or UTC (not an offset)");

const cidr = z
  .string({ error: "expected an IP address or CIDR block" })
  .refine((s) => parseCidr(s.trim()) !== undefined, "expected an IP address or CIDR block");

const method = z
  .string({ error: "expected a method name or category" })
  .refine(
    (s) => (CATEGORIES as readonly string[]).includes(s) || lookupMethod(s) !== undefined,
    `unknown method; use an API name such as StartProgramInGuest or a category (${CATEGORIES.join(", ")})`,
  );

const globs = (what: string) => z.array(text(what), { error: `expected a list of ${what}s` });

const duration = durationText;

const holiday = z.union(
  [
    z.string(),
    z.strictObject({
      date: z.string({ error: "expected a date YYYY-MM-DD or MM-DD" }),
      name: text("holiday name").optional(),
    }),
  ],
  { error: "expected a date YYYY-MM-DD, MM-DD, or {date, name}" },
);

const isHolidayDate = (s: string): boolean => {
  if (/^\d{2}-\d{2}$/.test(s)) return parseWallTime(`2024-${s}`) !== undefined; // 2024: allows 02-29
  return /^\d{4}-\d{2}-\d{2}$/.test(s) && parseWallTime(s) !== undefined;
};

export const SiteSchema = z.strictObject({
  name: text("site name"),
  zone,
  default: z.boolean({ error: "expected true or false" }).optional(),
  vcenters: globs("vCenter name").optional(),
  hosts: globs("host name or CIDR").optional(),
  businessHours: spans.optional(),
  holidays: z
    .array(holiday, { error: "expected a list of dates" })
    .superRefine((list, ctx) => {
      list.forEach((h, i) => {
        const date = typeof h === "string" ? h : h.date;
        if (!isHolidayDate(date)) {
          ctx.addIssue({
            code: "custom",
            message: "expected a date YYYY-MM-DD (one day) or MM-DD (every year)",
            path: typeof h === "string" ? [i] : [i, "date"],
          });
        }
      });
    })
    .optional(),
});

export const ScheduleSchema = z.strictObject({
  name: text("schedule name"),
  spans,
  skipHolidays: z.boolean({ error: "expected true or false" }).optional(),
});

export const AccountSchema = z.strictObject({
  name: text("account name"),
  role: z.enum(ROLES, { error: `expected a role: ${ROLES.join(", ")}` }),
  description: text("description").optional(),
  methods: z.array(method, { error: "expected a list of methods" }).optional(),
  vms: globs("VM name").optional(),
  tiers: globs("tier name").optional(),
  allowedHours: z
    .union([text("schedule name"), spans], {
      error: "expected a schedule name or a list of {days, start, end}",
    })
    .optional(),
  sources: z.array(cidr, { error: "expected a list of addresses" }).optional(),
});

export const TierSchema = z.strictObject({
  name: text("tier name"),
  vms: globs("VM name").min(1, "a tier needs at least one VM name or glob"),
  description: text("description").optional(),
});

const instantText = z.string({
  error: "expected a date-time such as 2026-12-05T22:00 (local) or 2026-12-05T21:00Z",
});

export const WindowSchema = z
  .strictObject({
    ref: text("ref").optional(),
    description: text("description").optional(),
    site: text("site name").optional(),
    zone: zone.optional(),
    accounts: globs("account name").optional(),
    vms: globs("VM name").optional(),
    tiers: globs("tier name").optional(),
    hosts: globs("host name or CIDR").optional(),
    methods: z.array(method, { error: "expected a list of methods" }).optional(),
    start: instantText.optional(),
    end: instantText.optional(),
    rrule: z
      .string({ error: "expected an RRULE value such as FREQ=WEEKLY;BYDAY=SA" })
      .superRefine((s, ctx) => {
        const problem = checkRrule(s.replace(/^RRULE:/i, ""));
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      })
      .optional(),
    exdates: z.array(instantText).optional(),
    weekly: spans.optional(),
    from: z.string({ error: "expected a date YYYY-MM-DD" }).optional(),
    until: z.string({ error: "expected a date YYYY-MM-DD" }).optional(),
    ics: text("iCalendar file path").optional(),
  })
  .superRefine((w, ctx) => {
    const forms = [
      w.start !== undefined || w.end !== undefined ? "start/end" : undefined,
      w.weekly !== undefined ? "weekly" : undefined,
      w.ics !== undefined ? "ics" : undefined,
    ].filter((f): f is string => f !== undefined);
    if (forms.length === 0) {
      ctx.addIssue({
        code: "custom",
        message:
          "a window needs its timing: start and end (one-off, optionally with rrule), weekly, or ics",
      });
    } else if (forms.length > 1) {
      ctx.addIssue({
        code: "custom",
        message: `give one timing form, not ${forms.join(" and ")}`,
      });
    }
    if (w.ics === undefined && w.ref === undefined) {
      ctx.addIssue({
        code: "custom",
        message: "a window needs a ref (the ticket or change id the alert quotes)",
        path: ["ref"],
      });
    }
    if (forms.includes("start/end")) {
      const z0 = "UTC"; // syntax only here; load.ts resolves in the window's zone
      if (w.start === undefined) {
        ctx.addIssue({ code: "custom", message: "start is missing", path: ["start"] });
      } else if (parsePolicyInstant(w.start, z0, "start") === undefined) {
        ctx.addIssue({
          code: "custom",
          message: "expected a date-time such as 2026-12-05T22:00 (local) or 2026-12-05T21:00Z",
          path: ["start"],
        });
      }
      if (w.end === undefined) {
        ctx.addIssue({ code: "custom", message: "end is missing", path: ["end"] });
      } else if (parsePolicyInstant(w.end, z0, "end") === undefined) {
        ctx.addIssue({
          code: "custom",
          message: "expected a date-time such as 2026-12-06T02:00 (local) or 2026-12-06T01:00Z",
          path: ["end"],
        });
      }
    }
    if ((w.rrule !== undefined || w.exdates !== undefined) && !forms.includes("start/end")) {
      ctx.addIssue({
        code: "custom",
        message: "rrule and exdates need start and end (the first occurrence)",
        path: [w.rrule !== undefined ? "rrule" : "exdates"],
      });
    }
    (w.exdates ?? []).forEach((x, i) => {
      if (parsePolicyInstant(x, "UTC", "start") === undefined) {
        ctx.addIssue({
          code: "custom",
          message: "expected a date-time (the start of the cancelled occurrence) or a date",
          path: ["exdates", i],
        });
      }
    });
    for (const key of ["from", "until"] as const) {
      const v = w[key];
      if (v === undefined) continue;
      if (w.weekly === undefined) {
        ctx.addIssue({
          code: "custom",
          message: `${key} bounds a weekly window only`,
          path: [key],
        });
      } else if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || !parseWallTime(v)) {
        ctx.addIssue({ code: "custom", message: "expected a date YYYY-MM-DD", path: [key] });
      }
    }
  });

const RULE_IDS = BUILTIN_RULES.map((r) => r.meta.id);

/** An exception (docs/policy.md#exceptions): findings of the rules it names, in its scope, until it expires. */
export const ExceptionSchema = z
  .strictObject({
    rules: z.union(
      [
        z.literal("any"),
        z
          .array(
            z.string({ error: "expected a rule id" }).refine((s) => RULE_IDS.includes(s), {
              message: `unknown rule id (rules: ${RULE_IDS.join(", ")})`,
            }),
            { error: "expected a list of rule ids" },
          )
          .min(1, "name at least one rule id, or write any"),
      ],
      { error: "expected a list of rule ids, or any" },
    ),
    accounts: globs("account name").optional(),
    vms: globs("VM name").optional(),
    tiers: globs("tier name").optional(),
    hosts: globs("host name or CIDR").optional(),
    methods: z.array(method, { error: "expected a list of methods" }).optional(),
    owner: text("owner"),
    ticket: text("ticket"),
    expires: z
      .string({
        error: "expected the expiry: a date (2027-03-31) or a date-time (2027-03-31T18:00, …Z)",
      })
      .refine(
        (s) => parsePolicyInstant(s.trim(), "UTC", "end") !== undefined,
        "expected the expiry: a date (2027-03-31) or a date-time (2027-03-31T18:00, …Z)",
      ),
    reason: text("reason").optional(),
  })
  .superRefine((x, ctx) => {
    if (
      x.accounts === undefined &&
      x.vms === undefined &&
      x.tiers === undefined &&
      x.hosts === undefined
    ) {
      ctx.addIssue({
        code: "custom",
        message:
          "an exception needs a scope: accounts, vms, tiers or hosts (it would cover everything)",
      });
    }
  });

const severity = z.enum(SEVERITIES, { error: `expected a severity: ${SEVERITIES.join(", ")}` });

const ruleSetting = z.strictObject({
  enabled: z.boolean({ error: "expected true or false" }).optional(),
  severity: severity.optional(),
});

/**
 * The `rules:` section comes from the rule registry: one entry per rule id, with `enabled`,
 * `severity` and the options the rule declares in `meta.options` (docs/rules.md lists them).
 */
export const RulesSchema = z.strictObject(
  Object.fromEntries(
    BUILTIN_RULES.map((rule) => [
      rule.meta.id,
      (rule.meta.options ? ruleSetting.extend(rule.meta.options.shape) : ruleSetting).optional(),
    ]),
  ),
);

export const PolicySchema = z.strictObject(
  {
    version: z.literal(1, { error: "expected version: 1" }).optional(),
    domains: z
      .array(
        z
          .array(text("domain name"), { error: "expected a list of equivalent domain names" })
          .min(2, "an alias group needs at least two names"),
        { error: "expected a list of alias groups such as [CORP, corp.example.com]" },
      )
      .optional(),
    sites: z
      .array(SiteSchema, { error: "expected a list of sites" })
      .min(1, "at least one site is needed"),
    schedules: z.array(ScheduleSchema, { error: "expected a list of schedules" }).optional(),
    accounts: z.array(AccountSchema, { error: "expected a list of accounts" }).optional(),
    tiers: z.array(TierSchema, { error: "expected a list of tiers" }).optional(),
    vcenterAddresses: z.array(cidr, { error: "expected a list of addresses" }).optional(),
    windows: z.array(WindowSchema, { error: "expected a list of windows" }).optional(),
    exceptions: z.array(ExceptionSchema, { error: "expected a list of exceptions" }).optional(),
    rules: RulesSchema.optional(),
    grouping: z
      .strictObject({
        gap: duration.optional(),
        link: duration.optional(),
        repeat: duration.optional(),
      })
      .optional(),
    coverage: z
      .strictObject({
        retention: duration.optional(),
        gap: duration.optional(),
        skew: duration.optional(),
        eventGap: z
          .number({ error: "expected a whole number of hostd event numbers" })
          .int("expected a whole number of hostd event numbers")
          .positive("expected a number above 0")
          .optional(),
        vcenterEventGap: z
          .number({ error: "expected a whole number of vCenter event keys" })
          .int("expected a whole number of vCenter event keys")
          .nonnegative("expected 0 or more")
          .optional(),
      })
      .optional(),
  },
  { error: "expected a policy mapping (sites:, accounts:, …)" },
);

export type PolicyInput = z.infer<typeof PolicySchema>;
export type SpanInput = z.infer<typeof SpanSchema>;
export type WindowInput = z.infer<typeof WindowSchema>;
export type ExceptionInput = z.infer<typeof ExceptionSchema>;

/** Every key the schema knows, for "did you mean" hints on unknown keys. */
export const KNOWN_KEYS: readonly string[] = [
  ...new Set([
    ...Object.keys(PolicySchema.shape),
    ...Object.keys(SiteSchema.shape),
    ...Object.keys(ScheduleSchema.shape),
    ...Object.keys(AccountSchema.shape),
    ...Object.keys(TierSchema.shape),
    ...Object.keys(WindowSchema.shape),
    "owner",
    "ticket",
    "expires",
    "reason",
    ...Object.keys(RulesSchema.shape),
    "enabled",
    "severity",
    "threshold",
    "window",
    "days",
    "start",
    "end",
    "date",
    "gap",
    "link",
    "repeat",
    "retention",
    "skew",
    "eventGap",
    "vcenterEventGap",
  ]),
];

export { parseDuration };
