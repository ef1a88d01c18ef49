/**
 * Loading a policy file: YAML (with source ranges) → zod validation → cross-reference checks →
 * the resolved `Policy`. Every problem names the line and the field path
 * (`policy.yaml:14: accounts[2].allowedHours.start: expected HH:MM`); any problem makes the whole
 * policy invalid (`GuestOpsError` ERR_POLICY_INVALID, exit 2).
 */
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
} from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import { BUILTIN_RULES } from "../detect/registry.js";
import { isSeverity } from "../model/alert.js";
import { lookupMethod, type Category } from "../model/catalog.js";
import { GuestOpsError, isSystemError } from "../shared/errors.js";
import { DEFAULT_ZONE } from "../shared/zone.js";
import { canonicalAccount } from "./account.js";
import { parseIcs } from "./ics.js";
import { hasGlob, LOOPBACK, parseCidr } from "./match.js";
import {
  CATEGORIES,
  KNOWN_KEYS,
  parseDuration,
  PolicySchema,
  type PolicyInput,
  type ExceptionInput,
  type SpanInput,
  type WindowInput,
} from "./schema.js";
import type {
  AccountPolicy,
  CoveragePolicy,
  Cidr,
  DaySpan,
  Holiday,
  MaintenanceWindow,
  MethodGrant,
  Policy,
  PolicyException,
  RuleId,
  RuleSetting,
  Schedule,
  Site,
  VmGrant,
  VmTier,
  Weekday,
  WindowTiming,
} from "./types.js";
import { DEFAULT_COVERAGE, WEEKDAYS } from "./types.js";
import {
  addDays,
  checkRecurrence,
  inlineRruleEvent,
  localTime,
  parseDays,
  parseHhMm,
  parsePolicyInstant,
  parseWallTime,
  resolveLocal,
  type WallTime,
} from "./windows.js";

/** One problem found in a policy file. */
export interface PolicyProblem {
  /** 1-based line in the policy file, when known. */
  readonly line: number | undefined;
  /** Field path, `accounts[2].allowedHours.start` (empty for the whole document). */
  readonly path: string;
  readonly message: string;
}

export interface ParseOptions {
  /** Name used in messages (the path as the user gave it). */
  readonly name: string;
  /** Directory `ics:` paths are relative to (the policy file's directory). */
  readonly baseDir?: string;
  /** Reads an iCalendar file (absolute path); defaults to the file system. */
  readonly readFile?: (path: string) => string;
}

export type CheckResult =
  | { readonly ok: true; readonly policy: Policy; readonly problems: readonly [] }
  | { readonly ok: false; readonly problems: readonly PolicyProblem[] };

// Loading keeps the whole YAML document with source ranges (for line numbers) and ical.js's
// component tree: ~200 MB per MiB of policy and far more per MiB of calendar were measured, so
// the caps are what bounds memory (docs/DESIGN.md, "Hostile recurrences").
const MAX_POLICY_BYTES = 1024 * 1024;
const MAX_ICS_BYTES = 1024 * 1024;
const MAX_PROBLEMS = 100;
const MINUTE = 60_000;

type PathSeg = string | number;

/** `accounts[2].allowedHours.start` */
export function formatPath(path: readonly PathSeg[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? seg : `.${seg}`;
  }
  return out;
}

/** `policy.yaml:14: accounts[2].allowedHours.start: expected HH:MM` */
export function formatProblem(name: string, p: PolicyProblem): string {
  const where = p.line === undefined ? name : `${name}:${p.line}`;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

/** Start offset of the most specific YAML node on `path` (a key when `key` is given). */
function nodeOffset(root: unknown, path: readonly PathSeg[], key?: string): number | undefined {
  let node: unknown = root;
  let best: number | undefined = (root as Node | null)?.range?.[0];
  const keyOffset = (
    map: unknown,
    k: string,
  ): { key: number | undefined; value: unknown } | undefined => {
    if (!isMap(map)) return undefined;
    const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === k);
    if (!pair) return undefined;
    return { key: (pair.key as Node).range?.[0], value: pair.value };
  };
  for (const seg of path) {
    if (isMap(node)) {
      const found = keyOffset(node, String(seg));
      if (!found) return best;
      best = found.key ?? best;
      node = found.value;
      const r = (node as Node | null)?.range?.[0];
      if (r !== undefined && node !== null && !(isScalar(node) && node.value === null)) best = r;
    } else if (isSeq(node) && typeof seg === "number") {
      node = node.items[seg];
      const r = (node as Node | null)?.range?.[0];
      if (r === undefined) return best;
      best = r;
    } else {
      return best;
    }
  }
  if (key !== undefined) {
    const found = keyOffset(node, key);
    if (found?.key !== undefined) best = found.key;
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + cost);
      diag = up;
    }
  }
  return prev[b.length] ?? 99;
}

const suggestKey = (key: string): string => {
  let best: string | undefined;
  let bestD = 3;
  for (const k of KNOWN_KEYS) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best ? ` (did you mean ${best}?)` : "";
};

/** A key as shown in messages: printable and short (keys come from the file). */
const showKey = (k: string): string => JSON.stringify(k.length > 60 ? `${k.slice(0, 60)}…` : k);

/**
 * Validates policy text. Never throws for bad content: every problem is returned with its line.
 */
export function checkPolicyText(text: string, options: ParseOptions): CheckResult {
  const problems: PolicyProblem[] = [];
  if (Buffer.byteLength(text, "utf8") > MAX_POLICY_BYTES) {
    return {
      ok: false,
      problems: [{ line: undefined, path: "", message: "policy file is larger than 1 MiB" }],
    };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const lineOf = (offset: number | undefined): number | undefined =>
    offset === undefined ? undefined : lineCounter.linePos(offset).line;

  for (const e of doc.errors) {
    problems.push({
      line: lineOf(e.pos[0]),
      path: "",
      message: `YAML: ${e.message.split("\n")[0] ?? e.code}`,
    });
  }
  if (problems.length > 0) return { ok: false, problems };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    return {
      ok: false,
      problems: [
        {
          line: undefined,
          path: "",
          message: `YAML: ${error instanceof Error ? error.message : String(error)}`,
        },
      ],
    };
  }
  if (data === null || data === undefined) {
    return { ok: false, problems: [{ line: 1, path: "", message: "the policy is empty" }] };
  }

  const parsed = PolicySchema.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues.slice(0, MAX_PROBLEMS)) {
      const path = issue.path.filter((s): s is PathSeg => typeof s !== "symbol");
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) {
          problems.push({
            line: lineOf(nodeOffset(doc.contents, path, key)),
            path: formatPath([...path, key]),
            message: `unknown key ${showKey(key)}${suggestKey(key)}`,
          });
        }
      } else {
        problems.push({
          line: lineOf(nodeOffset(doc.contents, path)),
          path: formatPath(path),
          message: issue.message,
        });
      }
    }
    return { ok: false, problems: sortProblems(problems) };
  }

  const add = (path: readonly PathSeg[], message: string): void => {
    problems.push({
      line: lineOf(nodeOffset(doc.contents, path)),
      path: formatPath(path),
      message,
    });
  };
  const policy = compile(parsed.data, options, add);
  if (problems.length > 0 || !policy) return { ok: false, problems: sortProblems(problems) };
  return { ok: true, policy, problems: [] };
}

const sortProblems = (list: PolicyProblem[]): PolicyProblem[] =>
  list.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));

/** Parses policy text; throws `GuestOpsError` ERR_POLICY_INVALID listing every problem. */
export function parsePolicy(text: string, options: ParseOptions): Policy {
  const result = checkPolicyText(text, options);
  if (result.ok) return result.policy;
  throw invalidPolicy(options.name, result.problems);
}

export function invalidPolicy(name: string, problems: readonly PolicyProblem[]): GuestOpsError {
  const lines = problems.map((p) => `  ${formatProblem(name, p)}`).join("\n");
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  return new GuestOpsError("ERR_POLICY_INVALID", `invalid policy ${name} (${count}):\n${lines}`, {
    hint: "Fix the fields named above; docs/policy.md documents every field.",
  });
}

/** Reads a policy file as text (throws ERR_INPUT_MISSING / ERR_INPUT_UNREADABLE). */
export function readPolicyFile(path: string): string {
  try {
    const st = statSync(path);
    if (!st.isFile()) {
      throw new GuestOpsError("ERR_INPUT_UNREADABLE", `policy ${path} is not a file`);
    }
    if (st.size > MAX_POLICY_BYTES) {
      throw new GuestOpsError("ERR_POLICY_INVALID", `policy ${path} is larger than 1 MiB`);
    }
    return readFileSync(path, "utf8");
  } catch (error) {
    if (!isSystemError(error)) throw error;
    const missing = error.code === "ENOENT";
    throw new GuestOpsError(
      missing ? "ERR_INPUT_MISSING" : "ERR_INPUT_UNREADABLE",
      `cannot read policy ${path} (${error.code ?? "error"})`,
      { cause: error },
    );
  }
}

/** Loads and validates a policy file; throws `GuestOpsError` on any problem. */
export function loadPolicy(path: string): Policy {
  return parsePolicy(readPolicyFile(path), { name: path, baseDir: dirname(path) });
}

/** Like `loadPolicy`, but returns the problems instead of throwing for invalid content. */
export function checkPolicyFile(path: string): CheckResult {
  return checkPolicyText(readPolicyFile(path), { name: path, baseDir: dirname(path) });
}

/**
 * Reads an iCalendar file: a regular file only (a FIFO or device is refused before any read:
 * opened non-blocking, checked with fstat on the same descriptor), and never more than 1 MiB
 * (counted while reading, since a file can grow after its size was looked at).
 */
export function readIcsFile(path: string, maxBytes = MAX_ICS_BYTES): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw new Error("not a regular file");
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, maxBytes + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw new Error(`larger than ${maxBytes / 1024 / 1024} MiB`);
      chunks.push(chunk.subarray(0, n));
    }
    return Buffer.concat(chunks, total).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

const defaultReadFile = (path: string): string => readIcsFile(path);

/* ------------------------------------------------------------------------------------------------
 * Compilation: validated input → Policy
 * ---------------------------------------------------------------------------------------------- */

const DEFAULT_BUSINESS_HOURS: readonly DaySpan[] = [
  { days: ["mon", "tue", "wed", "thu", "fri"], start: 8 * 60, end: 18 * 60 },
];

function toSpan(s: SpanInput): DaySpan {
  const items = typeof s.days === "string" ? s.days.split(",") : s.days;
  const set = new Set<Weekday>();
  for (const item of items) for (const d of parseDays(item) ?? []) set.add(d);
  return {
    days: WEEKDAYS.filter((d) => set.has(d)),
    start: parseHhMm(s.start, false) ?? 0,
    end: parseHhMm(s.end, true) ?? 0,
  };
}

function toGrant(m: string): MethodGrant {
  if ((CATEGORIES as readonly string[]).includes(m)) {
    return { kind: "category", category: m as Category };
  }
  return { kind: "api", api: lookupMethod(m)?.api ?? m };
}

function compile(
  input: PolicyInput,
  options: ParseOptions,
  add: (path: readonly PathSeg[], message: string) => void,
): Policy | undefined {
  // Domains
  const domainAliases = new Map<string, string>();
  (input.domains ?? []).forEach((group, g) => {
    const canon = (group[0] ?? "").toLowerCase();
    group.forEach((name, i) => {
      const key = name.toLowerCase();
      const prior = domainAliases.get(key);
      if (prior !== undefined && prior !== canon) {
        add(["domains", g, i], `domain "${name}" is already in another alias group`);
      }
      domainAliases.set(key, canon);
    });
  });

  // Sites
  const sites: Site[] = [];
  const siteNames = new Set<string>();
  const defaults = input.sites.filter((s) => s.default === true).length;
  if (defaults > 1) add(["sites"], "more than one site is marked default: true");
  const defaultIndex = Math.max(
    0,
    input.sites.findIndex((s) => s.default === true),
  );
  input.sites.forEach((s, i) => {
    const key = s.name.toLowerCase();
    if (siteNames.has(key)) add(["sites", i, "name"], `duplicate site name "${s.name}"`);
    siteNames.add(key);
    const holidays: Holiday[] = (s.holidays ?? []).map((h) =>
      typeof h === "string" ? { date: h } : { date: h.date, ...(h.name ? { name: h.name } : {}) },
    );
    sites.push({
      name: s.name,
      zone: s.zone,
      vcenters: s.vcenters ?? [],
      hosts: s.hosts ?? [],
      holidays,
      businessHours: {
        name: `business hours (${s.name})`,
        spans: s.businessHours ? s.businessHours.map(toSpan) : DEFAULT_BUSINESS_HOURS,
        excludeHolidays: true,
      },
      isDefault: i === defaultIndex,
    });
  });
  const defaultSite = sites[defaultIndex];
  if (!defaultSite) return undefined;
  const siteByName = new Map(sites.map((s) => [s.name.toLowerCase(), s]));

  // Schedules
  const schedules = new Map<string, Schedule>();
  (input.schedules ?? []).forEach((s, i) => {
    if (schedules.has(s.name)) add(["schedules", i, "name"], `duplicate schedule name "${s.name}"`);
    schedules.set(s.name, {
      name: s.name,
      spans: s.spans.map(toSpan),
      excludeHolidays: s.skipHolidays ?? false,
    });
  });

  // Tiers
  const tiers: VmTier[] = [];
  const tierNames = new Set<string>();
  (input.tiers ?? []).forEach((t, i) => {
    if (tierNames.has(t.name)) add(["tiers", i, "name"], `duplicate tier name "${t.name}"`);
    tierNames.add(t.name);
    tiers.push({ name: t.name, vms: t.vms });
  });
  const tierGrants = (names: readonly string[] | undefined, path: readonly PathSeg[]): VmGrant[] =>
    (names ?? []).map((tier, j) => {
      if (!tierNames.has(tier)) {
        const known = tierNames.size
          ? ` (tiers: ${[...tierNames].join(", ")})`
          : " (no tiers: defined)";
        add([...path, j], `unknown tier "${tier}"${known}`);
      }
      return { kind: "tier", tier };
    });

  // Accounts
  const accounts: AccountPolicy[] = [];
  const accountIds = new Map<string, number>();
  (input.accounts ?? []).forEach((a, i) => {
    const { id } = canonicalAccount(domainAliases, a.name);
    const prior = accountIds.get(id);
    if (prior !== undefined) {
      add(["accounts", i, "name"], `account "${a.name}" is the same account as accounts[${prior}]`);
    }
    accountIds.set(id, i);
    let allowedHours: Schedule | undefined;
    if (typeof a.allowedHours === "string") {
      allowedHours = schedules.get(a.allowedHours);
      if (!allowedHours) {
        const known = schedules.size ? ` (schedules: ${[...schedules.keys()].join(", ")})` : "";
        add(["accounts", i, "allowedHours"], `unknown schedule "${a.allowedHours}"${known}`);
      }
    } else if (a.allowedHours) {
      allowedHours = {
        name: `allowed hours of ${a.name}`,
        spans: a.allowedHours.map(toSpan),
        excludeHolidays: false,
      };
    }
    const vms: VmGrant[] | undefined =
      a.vms === undefined && a.tiers === undefined
        ? undefined
        : [
            ...(a.vms ?? []).map((pattern): VmGrant => ({ kind: "glob", pattern })),
            ...tierGrants(a.tiers, ["accounts", i, "tiers"]),
          ];
    accounts.push({
      pattern: a.name,
      id,
      isGlob: hasGlob(a.name),
      role: a.role,
      ...(a.description ? { description: a.description } : {}),
      methods: a.methods?.map(toGrant),
      vms,
      allowedHours,
      sources: a.sources?.map((s) => parseCidr(s.trim())).filter((c): c is Cidr => c !== undefined),
      index: i,
    });
  });

  // vCenter addresses (loopback always counts)
  const vcenterAddresses: Cidr[] = [
    ...LOOPBACK,
    ...(input.vcenterAddresses ?? [])
      .map((s) => parseCidr(s.trim()))
      .filter((c): c is Cidr => c !== undefined),
  ];

  // Windows
  const windows: MaintenanceWindow[] = [];
  (input.windows ?? []).forEach((w, i) => {
    const path: PathSeg[] = ["windows", i];
    let site: Site | undefined;
    if (w.site !== undefined) {
      site = siteByName.get(w.site.toLowerCase());
      if (!site) add([...path, "site"], `unknown site "${w.site}"`);
    }
    const zone = w.zone ?? site?.zone ?? defaultSite.zone;
    const scope = {
      ...(site ? { site: site.name } : {}),
      zone,
      accounts: w.accounts?.map((p) => p.trim()),
      vms:
        w.vms === undefined && w.tiers === undefined
          ? undefined
          : [
              ...(w.vms ?? []).map((pattern): VmGrant => ({ kind: "glob", pattern })),
              ...tierGrants(w.tiers, [...path, "tiers"]),
            ],
      hosts: w.hosts,
      methods: w.methods?.map(toGrant),
    };
    if (w.ics !== undefined) {
      for (const mw of icsWindows(w, i, zone, options, add)) {
        windows.push({ ...mw, ...scope, index: windows.length });
      }
      return;
    }
    const timing = inlineTiming(w, zone, path, add);
    if (!timing) return;
    windows.push({
      ref: w.ref ?? `windows[${i}]`,
      ...(w.description ? { description: w.description } : {}),
      ...scope,
      timing,
      index: windows.length,
    });
  });

  // Exceptions
  const exceptions: PolicyException[] = [];
  (input.exceptions ?? []).forEach((x, i) => {
    const scope = exceptionScope(x, (names, field) => tierGrants(names, ["exceptions", i, field]));
    const expiresMs = exceptionExpiry(x.expires, defaultSite.zone);
    if (expiresMs === undefined) return; // the schema checked the syntax
    exceptions.push({
      id: `exceptions[${i}]`,
      ...scope,
      owner: x.owner,
      ticket: x.ticket,
      expiresMs,
      ...(x.reason !== undefined ? { reason: x.reason } : {}),
      source: "policy",
    });
  });

  // Rules: `enabled` and `severity` for every rule, and the options its own schema declares
  const rules = new Map<RuleId, RuleSetting>();
  const r = (input.rules ?? {}) as Readonly<Record<string, Record<string, unknown> | undefined>>;
  for (const rule of BUILTIN_RULES) {
    const setting = Object.hasOwn(r, rule.meta.id) ? r[rule.meta.id] : undefined;
    if (!setting) continue;
    const { enabled, severity, ...rest } = setting;
    rules.set(rule.meta.id, {
      enabled: enabled !== false,
      ...(typeof severity === "string" && isSeverity(severity) ? { severity } : {}),
      ...(rule.meta.options ? { options: rule.meta.options.parse(rest) } : {}),
    });
  }
  const groupingGapMs =
    (input.grouping?.gap ? parseDuration(input.grouping.gap) : undefined) ?? 30 * MINUTE;
  const incidentLinking = {
    windowMs:
      (input.grouping?.link ? parseDuration(input.grouping.link) : undefined) ?? 60 * MINUTE,
    repeatMs:
      (input.grouping?.repeat ? parseDuration(input.grouping.repeat) : undefined) ??
      7 * 24 * 60 * MINUTE,
  };
  const c = input.coverage;
  const retentionMs = c?.retention ? parseDuration(c.retention) : undefined;
  const coverage: CoveragePolicy = {
    ...(retentionMs !== undefined ? { retentionMs } : {}),
    gapMs: (c?.gap ? parseDuration(c.gap) : undefined) ?? DEFAULT_COVERAGE.gapMs,
    skewMs: (c?.skew ? parseDuration(c.skew) : undefined) ?? DEFAULT_COVERAGE.skewMs,
    eventGap: c?.eventGap ?? DEFAULT_COVERAGE.eventGap,
    vcenterEventGap: c?.vcenterEventGap ?? DEFAULT_COVERAGE.vcenterEventGap,
  };

  return {
    source: options.name,
    sites,
    defaultSite,
    domainAliases,
    schedules,
    accounts,
    tiers,
    vcenterAddresses,
    windows,
    exceptions,
    rules,
    groupingGapMs,
    incidentLinking,
    coverage,
  };
}

/** An exception's match fields, compiled (tiers checked by `tiers`). */
export function exceptionScope(
  x: Pick<ExceptionInput, "rules" | "accounts" | "vms" | "tiers" | "hosts" | "methods">,
  tiers: (names: readonly string[] | undefined, field: "tiers") => VmGrant[],
): Pick<PolicyException, "rules" | "accounts" | "vms" | "hosts" | "methods"> {
  return {
    rules: x.rules === "any" ? undefined : [...new Set(x.rules)],
    accounts: x.accounts?.map((p) => p.trim()),
    vms:
      x.vms === undefined && x.tiers === undefined
        ? undefined
        : [
            ...(x.vms ?? []).map((pattern): VmGrant => ({ kind: "glob", pattern })),
            ...tiers(x.tiers, "tiers"),
          ],
    hosts: x.hosts,
    methods: x.methods?.map(toGrant),
  };
}

/**
 * An exception's expiry as epoch ms: a date-time with `Z` or an offset is exact; a local one is in
 * `zone`; a date alone means the whole of that day (it expires at the next local midnight).
 */
export function exceptionExpiry(text: string, zone: string): number | undefined {
  const trimmed = text.trim();
  const wall = parseWallTime(trimmed);
  if (wall?.dateOnly) return resolveLocal(zone, addDays(wall.date, 1), 0, 0, "end");
  return parsePolicyInstant(trimmed, zone, "end");
}

const pad = (n: number, w = 2): string => String(n).padStart(w, "0");

/** A policy date-time as local wall time in `zone` (absolute times are converted). */
function wallIn(textValue: string, zone: string, edge: "start" | "end"): WallTime | undefined {
  const wall = parseWallTime(textValue);
  if (wall) return wall;
  const ms = parsePolicyInstant(textValue, zone, edge);
  if (ms === undefined) return undefined;
  const t = localTime(zone, ms);
  return { date: t, minutes: t.hour * 60 + t.minute, seconds: t.second, dateOnly: false };
}

const wallText = (w: WallTime): string =>
  `${pad(w.date.year, 4)}-${pad(w.date.month)}-${pad(w.date.day)}T${pad(Math.floor(w.minutes / 60))}:${pad(w.minutes % 60)}:${pad(w.seconds)}`;

function inlineTiming(
  w: WindowInput,
  zone: string,
  path: readonly PathSeg[],
  add: (path: readonly PathSeg[], message: string) => void,
): WindowTiming | undefined {
  if (w.weekly) {
    return {
      kind: "weekly",
      schedule: {
        name: w.ref ?? "weekly window",
        spans: w.weekly.map(toSpan),
        excludeHolidays: false,
      },
      ...(w.from ? { from: w.from } : {}),
      ...(w.until ? { until: w.until } : {}),
    };
  }
  if (w.start === undefined || w.end === undefined) return undefined;
  // A date alone as `end` means the whole of that day (until the next midnight).
  const endWall = parseWallTime(w.end);
  if (w.rrule === undefined) {
    const start = parsePolicyInstant(w.start, zone, "start");
    const end = endWall?.dateOnly
      ? resolveLocal(zone, addDays(endWall.date, 1), 0, 0, "end")
      : parsePolicyInstant(w.end, zone, "end");
    if (start === undefined || end === undefined) return undefined;
    if (end <= start) {
      add([...path, "end"], `end (${w.end}) is not after start (${w.start})`);
      return undefined;
    }
    return { kind: "once", start, end };
  }
  const startWall = wallIn(w.start, zone, "start");
  const endW = endWall?.dateOnly ? { ...endWall, minutes: 24 * 60 } : wallIn(w.end, zone, "end");
  if (!startWall || !endW) return undefined;
  const durationMinutes = Math.round(
    (Date.UTC(endW.date.year, endW.date.month - 1, endW.date.day, 0, endW.minutes, endW.seconds) -
      Date.UTC(
        startWall.date.year,
        startWall.date.month - 1,
        startWall.date.day,
        0,
        startWall.minutes,
        startWall.seconds,
      )) /
      MINUTE,
  );
  if (durationMinutes <= 0) {
    add([...path, "end"], `end (${w.end}) is not after start (${w.start})`);
    return undefined;
  }
  const timing = {
    kind: "rrule" as const,
    rrule: w.rrule.replace(/^RRULE:/i, ""),
    dtstart: wallText(startWall),
    durationMinutes,
    exdates: (w.exdates ?? []).map((x) => {
      const wall = wallIn(x, zone, "start");
      return wall ? (wall.dateOnly ? wallText(wall).slice(0, 10) : wallText(wall)) : x;
    }),
  };
  // Expanded once now, so a rule ical.js cannot run is this error and never a failing scan.
  const problem = checkRecurrence(inlineRruleEvent(timing, zone));
  if (problem) {
    add([...path, "rrule"], problem);
    return undefined;
  }
  return timing;
}

function icsWindows(
  w: WindowInput,
  i: number,
  zone: string,
  options: ParseOptions,
  add: (path: readonly PathSeg[], message: string) => void,
): Omit<MaintenanceWindow, "index" | "zone" | "accounts" | "vms" | "hosts" | "methods">[] {
  const rel = w.ics ?? "";
  const path: PathSeg[] = ["windows", i, "ics"];
  const file = isAbsolute(rel) ? rel : resolve(options.baseDir ?? ".", rel);
  let textValue: string;
  try {
    textValue = (options.readFile ?? defaultReadFile)(file);
  } catch (error) {
    const why = isSystemError(error)
      ? (error.code ?? "error")
      : error instanceof Error
        ? error.message
        : "error";
    add(path, `cannot read iCalendar file ${rel} (${why})`);
    return [];
  }
  const { events, problems } = parseIcs(textValue, zone, w.zone);
  for (const p of problems.slice(0, MAX_PROBLEMS)) add(path, `${rel}: ${p.where}: ${p.message}`);
  if (problems.length > 0) return [];
  if (events.length === 0) add(path, `${rel}: no VEVENT in the calendar`);
  return events.map((ev) => ({
    ref: w.ref ?? ev.summary ?? ev.uid,
    ...(w.description
      ? { description: w.description }
      : ev.summary && w.ref
        ? { description: ev.summary }
        : {}),
    timing: { kind: "ics", file: rel, events: [ev] },
  }));
}

/** The policy used when none is given: one UTC site, business hours Mon–Fri 08:00–18:00, no accounts. */
export function defaultPolicy(): Policy {
  const site: Site = {
    name: "default",
    zone: DEFAULT_ZONE,
    vcenters: [],
    hosts: [],
    holidays: [],
    businessHours: {
      name: "business hours (default)",
      spans: DEFAULT_BUSINESS_HOURS,
      excludeHolidays: true,
    },
    isDefault: true,
  };
  return {
    source: undefined,
    sites: [site],
    defaultSite: site,
    domainAliases: new Map(),
    schedules: new Map(),
    accounts: [],
    tiers: [],
    vcenterAddresses: [...LOOPBACK],
    windows: [],
    exceptions: [],
    rules: new Map(),
    groupingGapMs: 30 * MINUTE,
    incidentLinking: { windowMs: 60 * MINUTE, repeatMs: 7 * 24 * 60 * MINUTE },
    coverage: DEFAULT_COVERAGE,
  };
}
