/**
 * Queries on a loaded policy, for the rules. Pure functions of (policy, facts): no clock, no I/O.
 * Every answer carries a short reason an alert can quote. Precedence (docs/policy.md):
 * - a human admin is expected inside business hours (or its own allowed hours when it has them);
 * - automation, backup, monitoring and service accounts are judged by their own allowed hours;
 * - an approved window covering the account, VM, host and time makes the operation expected
 *   (hours, method and VM); it never excuses a client address outside the account's sources.
 */
import { lookupMethod, methodByApi } from "../model/catalog.js";
import type { Operation, Principal } from "../model/operation.js";
import { canonicalAccount, principalMatches } from "./account.js";
import { cidrContains, globMatch, hostMatches, parseIp, vmNames } from "./match.js";
import type {
  AccountMatch,
  AccountPolicy,
  Expectation,
  Holiday,
  IcsEvent,
  Instant,
  MaintenanceWindow,
  MethodGrant,
  OperationFacts,
  Policy,
  PolicyException,
  Role,
  RuleId,
  Severity,
  Site,
  SiteMatch,
  Verdict,
  VmGrant,
  WindowMatch,
  WindowOccurrence,
  WindowTiming,
} from "./types.js";
import {
  describeSchedule,
  eventCovering,
  eventOccurrencesOverlapping,
  expansionWarning,
  formatLocalShort,
  formatMinutes,
  holidayOn,
  inlineRruleEvent,
  instantMs,
  localTime,
  scheduleCovering,
  scheduleOccurrences,
} from "./windows.js";

type VmInput = { readonly name?: string; readonly vmx?: string } | string | undefined;

const ok = (reason: string): Verdict => ({ ok: true, reason });
const no = (reason: string): Verdict => ({ ok: false, reason });

/** Quotes a log-derived string for a reason: bounded length, control characters shown as \uXXXX. */
export function q(value: string): string {
  const short = value.length > 120 ? `${value.slice(0, 120)}…` : value;
  // eslint-disable-next-line no-control-regex
  return short.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

const list = (items: readonly string[], max = 6): string =>
  items.length <= max
    ? items.join(", ")
    : `${items.slice(0, max).join(", ")}, +${items.length - max}`;

/* ------------------------------------------------------------------------------------------------
 * Sites
 * ---------------------------------------------------------------------------------------------- */

/**
 * The site of a host/vCenter: first a site listing the host, then one listing the vCenter, then the
 * default site.
 */
export function siteFor(
  policy: Policy,
  host: string | undefined,
  vcenter: string | undefined,
): SiteMatch {
  if (host) {
    for (const site of policy.sites) {
      const p = site.hosts.find((pattern) => hostMatches(pattern, host));
      if (p !== undefined) {
        return { site, reason: `host ${q(host)} is at site ${site.name} (hosts: ${p})` };
      }
    }
  }
  if (vcenter) {
    for (const site of policy.sites) {
      const p = site.vcenters.find((pattern) => hostMatches(pattern, vcenter));
      if (p !== undefined) {
        return { site, reason: `vCenter ${q(vcenter)} is at site ${site.name} (vcenters: ${p})` };
      }
    }
  }
  const site = policy.defaultSite;
  return { site, reason: `default site ${site.name}` };
}

/* ------------------------------------------------------------------------------------------------
 * Accounts
 * ---------------------------------------------------------------------------------------------- */

/** Normalises an account spelling the way the policy and attribution do (`user@dom` ≡ `DOM\user`). */
export function accountId(policy: Policy, account: string): string {
  return canonicalAccount(policy.domainAliases, account).id;
}

/**
 * The policy entry for a principal: the first entry naming that very account, else the first glob
 * entry matching it. Undefined: an account the policy does not expect.
 */
export function accountPolicy(
  policy: Policy,
  principal: Principal | undefined,
): AccountMatch | undefined {
  if (!principal) return undefined;
  const index = memo(accountCache, policy, principal.id, () => {
    const matches = (a: AccountPolicy): boolean =>
      principalMatches(policy.domainAliases, principal, a.pattern);
    const found =
      policy.accounts.find((a) => !a.isGlob && matches(a)) ??
      policy.accounts.find((a) => a.isGlob && matches(a));
    return found ? found.index : -1;
  });
  const account = policy.accounts[index];
  if (!account) return undefined;
  const verb = account.isGlob ? "matches" : "is";
  return {
    account,
    reason: `${q(principal.display)} ${verb} policy account ${q(account.pattern)} (${account.role})`,
  };
}

// Matching results per policy and principal id (the match depends on the id alone): the policy is
// immutable, so this is pure memoisation. Bounded: cleared when it grows past MEMO_LIMIT.
const MEMO_LIMIT = 50_000;
const accountCache = new WeakMap<object, Map<string, number>>();
const windowAccountCache = new WeakMap<object, Map<string, boolean>>();
const exceptionAccountCache = new WeakMap<object, Map<string, boolean>>();

function memo<T>(
  cache: WeakMap<object, Map<string, T>>,
  owner: object,
  key: string,
  compute: () => T,
): T {
  let map = cache.get(owner);
  if (!map) {
    map = new Map();
    cache.set(owner, map);
  }
  const hit = map.get(key);
  if (hit !== undefined) return hit;
  const value = compute();
  if (map.size >= MEMO_LIMIT) map.clear();
  map.set(key, value);
  return value;
}

/* ------------------------------------------------------------------------------------------------
 * Hours
 * ---------------------------------------------------------------------------------------------- */

const localNote = (site: Site, ms: number): string =>
  `${site.zone} (${formatLocalShort(site.zone, ms)} local)`;

/** The holiday of the site falling on the instant's local date. */
export function isHoliday(site: Site, instant: Instant): Holiday | undefined {
  const ms = instantMs(instant);
  if (Number.isNaN(ms)) return undefined;
  return holidayOn(site.holidays, localTime(site.zone, ms));
}

const holidayText = (h: Holiday): string => (h.name ? `${h.date} (${h.name})` : h.date);

/** Business hours of the site; holidays are not business days. */
export function isBusinessHours(instant: Instant, site: Site): Verdict {
  const ms = instantMs(instant);
  if (Number.isNaN(ms)) return ok("time unknown: business hours not judged");
  const hours = describeSchedule(site.businessHours);
  if (scheduleCovering(site.businessHours, site.zone, site.holidays, ms)) {
    return ok(`inside business hours ${hours} ${localNote(site, ms)}`);
  }
  const holiday = holidayOn(site.holidays, localTime(site.zone, ms));
  if (holiday) {
    const normal = { ...site.businessHours, excludeHolidays: false };
    if (scheduleCovering(normal, site.zone, site.holidays, ms)) {
      return no(`on holiday ${holidayText(holiday)}, not a business day ${localNote(site, ms)}`);
    }
  }
  return no(`outside business hours ${hours} ${localNote(site, ms)}`);
}

const MACHINE_ROLES: readonly Role[] = ["automation", "backup", "monitoring", "service"];

/**
 * The hours that apply to an account (or a bare role): its own allowed hours when given; else
 * business hours for `admin`, and no restriction for the machine roles.
 */
export function isWithinAllowedHours(
  account: AccountPolicy | Role,
  instant: Instant,
  site: Site,
): Verdict {
  const ms = instantMs(instant);
  if (Number.isNaN(ms)) return ok("time unknown: hours not judged");
  const role = typeof account === "string" ? account : account.role;
  const schedule = typeof account === "string" ? undefined : account.allowedHours;
  const who = typeof account === "string" ? `${role} accounts` : q(account.pattern);
  if (schedule) {
    const hours = `${describeSchedule(schedule)}`;
    const named = schedule.name.startsWith("allowed hours of ") ? "" : ` "${q(schedule.name)}"`;
    const cover = scheduleCovering(schedule, site.zone, site.holidays, ms);
    if (cover)
      return ok(`inside the allowed hours of ${who}${named} ${hours} ${localNote(site, ms)}`);
    const holiday = schedule.excludeHolidays
      ? holidayOn(site.holidays, localTime(site.zone, ms))
      : undefined;
    const extra = holiday ? `; ${holidayText(holiday)} is a holiday` : "";
    return no(
      `outside the allowed hours of ${who}${named} ${hours} ${localNote(site, ms)}${extra}`,
    );
  }
  if (MACHINE_ROLES.includes(role)) {
    return ok(
      `${role} account ${who === `${role} accounts` ? "" : `${who} `}has no hours restriction`,
    );
  }
  return isBusinessHours(ms, site);
}

/* ------------------------------------------------------------------------------------------------
 * VMs and tiers
 * ---------------------------------------------------------------------------------------------- */

const tierMatches = (policy: Policy, tierName: string, names: readonly string[]): boolean => {
  const tier = policy.tiers.find((t) => t.name === tierName);
  return !!tier && tier.vms.some((p) => names.some((n) => globMatch(p, n)));
};

/** The VM's tier: `critical` when it is in that tier, else the first tier (file order) listing it. */
export function vmTier(policy: Policy, vm: VmInput): string | undefined {
  const names = vmNames(vm);
  if (names.length === 0) return undefined;
  if (tierMatches(policy, "critical", names)) return "critical";
  return policy.tiers.find((t) => t.vms.some((p) => names.some((n) => globMatch(p, n))))?.name;
}

/** True when the VM is in the tier named `critical` (the tier `sensitive-vm` protects). */
export function isCritical(policy: Policy, vm: VmInput): boolean {
  return tierMatches(policy, "critical", vmNames(vm));
}

const vmGrantMatches = (policy: Policy, g: VmGrant, names: readonly string[]): boolean =>
  g.kind === "tier"
    ? tierMatches(policy, g.tier, names)
    : names.some((n) => globMatch(g.pattern, n));

const grantText = (g: VmGrant): string => (g.kind === "tier" ? `tier:${g.tier}` : g.pattern);

const vmLabel = (vm: VmInput): string => q(vmNames(vm)[0] ?? "?");

/**
 * Whether the account may touch the VM: a VM its `vms:`/`tiers:` lists; without lists, every VM
 * outside the `critical` tier (a critical VM must always be granted by name, glob or tier).
 */
export function vmAllowed(policy: Policy, account: AccountPolicy, vm: VmInput): Verdict {
  const names = vmNames(vm);
  if (names.length === 0) return ok("VM unknown: VM scope not judged");
  const critical = isCritical(policy, vm);
  const label = vmLabel(vm);
  if (account.vms === undefined) {
    return critical
      ? no(
          `critical VM ${label} is not granted to ${q(account.pattern)} (critical VMs must be granted by name or tier)`,
        )
      : ok(`${q(account.pattern)} may touch any non-critical VM`);
  }
  const g = account.vms.find((grant) => vmGrantMatches(policy, grant, names));
  if (g) return ok(`VM ${label} is allowed for ${q(account.pattern)} (${grantText(g)})`);
  return no(
    `${critical ? "critical " : ""}VM ${label} is not among the VMs allowed for ${q(account.pattern)} (${list(account.vms.map(grantText))})`,
  );
}

/* ------------------------------------------------------------------------------------------------
 * Methods
 * ---------------------------------------------------------------------------------------------- */

/** Methods a role may use when the account lists none. */
export const ROLE_DEFAULT_METHODS: ReadonlyMap<Role, readonly MethodGrant[] | "all"> = new Map<
  Role,
  readonly MethodGrant[] | "all"
>([
  ["admin", "all"],
  ["automation", "all"],
  ["backup", "all"],
  ["service", "all"],
  [
    "monitoring",
    [
      { kind: "api", api: "ListProcessesInGuest" },
      { kind: "api", api: "ReadEnvironmentVariableInGuest" },
      { kind: "api", api: "QueryDisabledMethods" },
      { kind: "category", category: "auth" },
    ],
  ],
]);

const methodGrantText = (g: MethodGrant): string => (g.kind === "api" ? g.api : g.category);

const grantCovers = (g: MethodGrant, api: string): boolean => {
  if (g.kind === "api") return g.api === api;
  return (methodByApi(api) ?? lookupMethod(api))?.category === g.category;
};

/**
 * Whether the account may use the method. Without a `methods:` list the role's default applies
 * (ROLE_DEFAULT_METHODS). Pulling files out of a critical VM (InitiateFileTransferFromGuest) needs
 * the method named explicitly: a category or a default never grants it there.
 */
export function methodAllowed(
  policy: Policy,
  account: AccountPolicy,
  api: string,
  vm?: VmInput,
): Verdict {
  const info = methodByApi(api) ?? lookupMethod(api);
  if (!info) return ok(`method ${q(api)} unknown: method not judged`);
  const grants = account.methods ?? ROLE_DEFAULT_METHODS.get(account.role) ?? "all";
  const who = `${account.role} account ${q(account.pattern)}`;
  if (info.transfer === "from-guest" && vm !== undefined && isCritical(policy, vm)) {
    const explicit = grants !== "all" && grants.some((g) => g.kind === "api" && g.api === info.api);
    return explicit
      ? ok(`${info.api} from critical VM ${vmLabel(vm)} is explicitly allowed for ${who}`)
      : no(
          `${info.api} pulls files out of critical VM ${vmLabel(vm)}; ${who} is not explicitly allowed to`,
        );
  }
  if (grants === "all") {
    return ok(
      `${info.api} is allowed for ${who} (every method${account.methods ? "" : " by default"})`,
    );
  }
  const g = grants.find((grant) => grantCovers(grant, info.api));
  if (g) return ok(`${info.api} is allowed for ${who} (${methodGrantText(g)})`);
  return no(
    `${info.api} (${info.category}) is not among the methods allowed for ${who} (${list(grants.map(methodGrantText))}${account.methods ? "" : ", the role's default"})`,
  );
}

/* ------------------------------------------------------------------------------------------------
 * Addresses
 * ---------------------------------------------------------------------------------------------- */

/** Whether the client address is among the account's allowed sources. */
export function sourceAllowed(account: AccountPolicy, ip: string | undefined): Verdict {
  if (!account.sources) return ok(`${q(account.pattern)} has no source restriction`);
  if (!ip) return ok("source address unknown: source not judged");
  const hit = account.sources.find((c) => cidrContains(c, ip));
  if (hit) return ok(`source ${q(ip)} is allowed for ${q(account.pattern)} (${hit.text})`);
  return no(
    `source ${q(ip)} is not among the allowed sources of ${q(account.pattern)} (${list(account.sources.map((c) => c.text))})`,
  );
}

/** Whether an address is one vCenter connects from (loopback always counts). */
export function isVcenterAddress(policy: Policy, ip: string | undefined): Verdict {
  if (!ip) return no("no source address");
  const parsed = parseIp(ip);
  if (!parsed) return no(`source ${q(ip)} is not an IP address`);
  const hit = policy.vcenterAddresses.find((c) => cidrContains(c, ip));
  if (!hit) {
    return no(`source ${q(ip)} is neither loopback nor a vCenter address`);
  }
  const loopback = hit.text === "127.0.0.0/8" || hit.text === "::1/128";
  return ok(
    loopback ? `source ${q(ip)} is loopback` : `source ${q(ip)} is a vCenter address (${hit.text})`,
  );
}

/* ------------------------------------------------------------------------------------------------
 * Maintenance windows
 * ---------------------------------------------------------------------------------------------- */

const rruleEvents = new WeakMap<WindowTiming, IcsEvent>();

const pad = (n: number, w = 2): string => String(n).padStart(w, "0");

/** The inline `rrule` timing as an event (same expansion path as iCalendar files). */
function rruleEvent(timing: Extract<WindowTiming, { kind: "rrule" }>, zone: string): IcsEvent {
  let ev = rruleEvents.get(timing);
  if (!ev) {
    ev = inlineRruleEvent(timing, zone);
    rruleEvents.set(timing, ev);
  }
  return ev;
}

/** The events behind a window's occurrences (none for one-off and weekly windows). */
function windowEvents(window: MaintenanceWindow): readonly IcsEvent[] {
  const t = window.timing;
  if (t.kind === "rrule") return [rruleEvent(t, window.zone)];
  if (t.kind === "ics") return t.events;
  return [];
}

/**
 * Warnings about the policy's recurrences met so far in this process: an expansion that reached
 * its cap or stopped, per window (`policy check` and the `scan` summary print them).
 */
export function policyWarnings(policy: Policy): string[] {
  const out: string[] = [];
  for (const window of policy.windows) {
    for (const ev of windowEvents(window)) {
      const note = expansionWarning(ev);
      if (note) out.push(`window ${q(window.ref)}: ${note}`);
    }
  }
  return out;
}

/** The occurrence of the window covering `ms`, if any. */
export function windowCovering(
  window: MaintenanceWindow,
  ms: number,
): WindowOccurrence | undefined {
  const t = window.timing;
  switch (t.kind) {
    case "once":
      return t.start <= ms && ms < t.end ? { start: t.start, end: t.end } : undefined;
    case "weekly": {
      const occ = scheduleCovering(t.schedule, window.zone, [], ms);
      if (!occ) return undefined;
      const day = `${pad(occ.day.year, 4)}-${pad(occ.day.month)}-${pad(occ.day.day)}`;
      if ((t.from && day < t.from) || (t.until && day > t.until)) return undefined;
      return { start: occ.start, end: occ.end };
    }
    case "rrule":
      return eventCovering(rruleEvent(t, window.zone), ms);
    case "ics":
      for (const ev of t.events) {
        const occ = eventCovering(ev, ms);
        if (occ) return occ;
      }
      return undefined;
  }
}

/** Every occurrence of the window overlapping [from, to) (for `policy check` and reports). */
export function windowOccurrences(
  window: MaintenanceWindow,
  from: Instant,
  to: Instant,
): WindowOccurrence[] {
  const a = instantMs(from);
  const b = instantMs(to);
  const t = window.timing;
  switch (t.kind) {
    case "once":
      return t.end > a && t.start < b ? [{ start: t.start, end: t.end }] : [];
    case "weekly":
      return scheduleOccurrences(t.schedule, window.zone, [], a, b, {
        ...(t.from ? { from: t.from } : {}),
        ...(t.until ? { until: t.until } : {}),
      }).map(({ start, end }) => ({ start, end }));
    case "rrule":
      return eventOccurrencesOverlapping(rruleEvent(t, window.zone), a, b);
    case "ics":
      return t.events
        .flatMap((ev) => eventOccurrencesOverlapping(ev, a, b))
        .sort((x, y) => x.start - y.start);
  }
}

/** `Sat 2026-10-31 22:00 – Sun 2026-11-01 02:00 America/New_York` */
export function describeOccurrence(zone: string, occ: WindowOccurrence): string {
  const a = localTime(zone, occ.start);
  const b = localTime(zone, occ.end);
  const date = (t: typeof a): string => `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}`;
  const clock = (t: typeof a): string => formatMinutes(t.hour * 60 + t.minute);
  const day = (ms: number): string => formatLocalShort(zone, ms).slice(0, 3);
  return `${day(occ.start)} ${date(a)} ${clock(a)} – ${day(occ.end)} ${date(b)} ${clock(b)} ${zone}`;
}

const windowAccountCovers = (
  policy: Policy,
  window: MaintenanceWindow,
  principal: Principal | undefined,
): boolean => {
  if (!principal) return false;
  if (window.accounts === undefined) return accountPolicy(policy, principal) !== undefined;
  const patterns = window.accounts;
  return memo(windowAccountCache, window, principal.id, () =>
    patterns.some((p) => principalMatches(policy.domainAliases, principal, p)),
  );
};

/**
 * Approved windows covering the operation: its time, account (a window without `accounts:` covers
 * the accounts the policy lists, never an unknown or unattributed one), VM, host, method and site.
 */
export function windowsCovering(
  policy: Policy,
  facts: {
    readonly instant: Instant;
    readonly principal: Principal | undefined;
    readonly vm?: VmInput;
    readonly host?: string;
    readonly api?: string;
    readonly site?: Site;
  },
): readonly WindowMatch[] {
  const ms = instantMs(facts.instant);
  if (Number.isNaN(ms)) return [];
  const names = vmNames(facts.vm);
  const out: WindowMatch[] = [];
  for (const window of policy.windows) {
    if (window.site && facts.site && window.site !== facts.site.name) continue;
    if (!windowAccountCovers(policy, window, facts.principal)) continue;
    if (window.vms && !window.vms.some((g) => vmGrantMatches(policy, g, names))) continue;
    if (window.hosts) {
      const host = facts.host;
      if (!host || !window.hosts.some((p) => hostMatches(p, host))) continue;
    }
    if (window.methods && facts.api !== undefined) {
      const api = facts.api;
      if (!window.methods.some((g) => grantCovers(g, api))) continue;
    }
    const occurrence = windowCovering(window, ms);
    if (!occurrence) continue;
    const desc = window.description ? ` "${q(window.description)}"` : "";
    out.push({
      window,
      occurrence,
      reason: `inside approved window ${q(window.ref)}${desc} (${describeOccurrence(window.zone, occurrence)})`,
    });
  }
  return out;
}

/* ------------------------------------------------------------------------------------------------
 * Exceptions
 * ---------------------------------------------------------------------------------------------- */

/**
 * The first exception (in the order given: the policy's, then the store's) covering one finding:
 * its rule, the operation's principal (an exception with `accounts:` never covers an unattributed
 * operation), VM, host and method, at the operation's time, before the exception expires. An
 * operation without a time is never covered (its expiry cannot be judged). The same matchers as
 * maintenance windows.
 */
export function exceptionCovering(
  policy: Policy,
  exceptions: readonly PolicyException[],
  facts: {
    readonly rule: RuleId;
    readonly instant: Instant | undefined;
    readonly principal: Principal | undefined;
    readonly vm?: VmInput;
    readonly host?: string;
    readonly api?: string;
  },
): PolicyException | undefined {
  if (exceptions.length === 0 || facts.instant === undefined) return undefined;
  const ms = instantMs(facts.instant);
  if (Number.isNaN(ms)) return undefined;
  const names = vmNames(facts.vm);
  for (const x of exceptions) {
    if (ms >= x.expiresMs) continue;
    if (x.rules && !x.rules.includes(facts.rule)) continue;
    if (x.accounts) {
      const principal = facts.principal;
      if (!principal) continue;
      const patterns = x.accounts;
      const hit = memo(exceptionAccountCache, x, principal.id, () =>
        patterns.some((p) => principalMatches(policy.domainAliases, principal, p)),
      );
      if (!hit) continue;
    }
    if (x.vms && !x.vms.some((g) => vmGrantMatches(policy, g, names))) continue;
    if (x.hosts) {
      const host = facts.host;
      if (!host || !x.hosts.some((p) => hostMatches(p, host))) continue;
    }
    if (x.methods) {
      const api = facts.api;
      if (api === undefined || !x.methods.some((g) => grantCovers(g, api))) continue;
    }
    return x;
  }
  return undefined;
}

/* ------------------------------------------------------------------------------------------------
 * Rules settings
 * ---------------------------------------------------------------------------------------------- */

export const ruleEnabled = (policy: Policy, rule: RuleId): boolean =>
  policy.rules.get(rule)?.enabled ?? true;

export const ruleOptions = (
  policy: Policy,
  rule: RuleId,
  schema: { parse(input: unknown): Readonly<Record<string, unknown>> } | undefined,
): Readonly<Record<string, unknown>> => policy.rules.get(rule)?.options ?? schema?.parse({}) ?? {};

export const ruleSeverity = (policy: Policy, rule: RuleId, fallback: Severity): Severity =>
  policy.rules.get(rule)?.severity ?? fallback;

/* ------------------------------------------------------------------------------------------------
 * Expectation: the precedence in one place
 * ---------------------------------------------------------------------------------------------- */

/** The facts of an attributed operation. */
export function factsFromOperation(op: Operation): OperationFacts {
  const principal =
    op.attribution.level === "exact" ||
    op.attribution.level === "correlated" ||
    op.attribution.level === "inferred"
      ? op.attribution.principal
      : undefined;
  const vm = {
    ...(op.vm.name !== undefined ? { name: op.vm.name } : {}),
    ...(op.vm.vmx !== undefined ? { vmx: op.vm.vmx } : {}),
  };
  return {
    time: op.time,
    principal,
    level: op.attribution.level,
    api: op.api,
    vm,
    ...(op.host !== undefined ? { host: op.host } : {}),
    ...(op.vcenter !== undefined ? { vcenter: op.vcenter } : {}),
    ...(op.origin.sourceIp !== undefined ? { sourceIp: op.origin.sourceIp } : {}),
    via: op.origin.via,
  };
}

/**
 * Whether the policy expects this operation, with every check and its reason. `expected` is true
 * only when all checks pass; `why` lists failing reasons first.
 */
export function expectation(policy: Policy, facts: OperationFacts): Expectation {
  const site = siteFor(policy, facts.host, facts.vcenter);
  const ms = facts.time === undefined ? Number.NaN : instantMs(facts.time);
  const account = accountPolicy(policy, facts.principal);
  const windows = Number.isNaN(ms)
    ? []
    : windowsCovering(policy, {
        instant: ms,
        principal: facts.principal,
        vm: facts.vm,
        ...(facts.host !== undefined ? { host: facts.host } : {}),
        api: facts.api,
        site: site.site,
      });
  const inWindow = windows[0];
  const tier = vmTier(policy, facts.vm);
  const critical = isCritical(policy, facts.vm);
  const who = facts.principal ? q(facts.principal.display) : undefined;
  const vmName = vmLabel(facts.vm);

  let accountCheck: Verdict;
  if (!facts.principal) {
    accountCheck = no(`operation not attributed to an account (attribution ${facts.level})`);
  } else if (account) {
    accountCheck = ok(account.reason);
  } else if (inWindow && inWindow.window.accounts !== undefined) {
    accountCheck = ok(
      `${who} is not in the policy's accounts but is named by window ${q(inWindow.window.ref)}`,
    );
  } else {
    accountCheck = no(`account ${who} is not among the policy's accounts`);
  }

  let hours: Verdict;
  if (Number.isNaN(ms)) hours = ok("time unknown: hours not judged");
  else if (inWindow) hours = ok(inWindow.reason);
  else if (account) hours = isWithinAllowedHours(account.account, ms, site.site);
  else hours = isBusinessHours(ms, site.site);

  let method: Verdict;
  const info = methodByApi(facts.api) ?? lookupMethod(facts.api);
  if (inWindow) method = ok(`${facts.api} approved by window ${q(inWindow.window.ref)}`);
  else if (account) method = methodAllowed(policy, account.account, facts.api, facts.vm);
  else if (info?.transfer === "from-guest" && critical) {
    method = no(
      `${info.api} pulls files out of critical VM ${vmName} by ${who ?? "an unattributed principal"}`,
    );
  } else method = ok("no account entry: method not judged");

  let vm: Verdict;
  if (inWindow) vm = ok(`VM ${vmName} approved by window ${q(inWindow.window.ref)}`);
  else if (account) vm = vmAllowed(policy, account.account, facts.vm);
  else if (critical) {
    vm = no(
      facts.principal
        ? `critical VM ${vmName} touched by ${who}, an account the policy does not list`
        : `critical VM ${vmName} touched by an unattributed principal`,
    );
  } else vm = ok("no account entry: VM scope not judged");

  let source: Verdict;
  if (!account) source = ok("no account entry: source not judged");
  else if (
    facts.sourceIp &&
    account.account.sources &&
    isVcenterAddress(policy, facts.sourceIp).ok
  ) {
    source = ok(`source ${q(facts.sourceIp)} is vCenter: the client address is not known`);
  } else source = sourceAllowed(account.account, facts.sourceIp);

  const checks = { account: accountCheck, hours, method, vm, source };
  const all = [accountCheck, hours, method, vm, source];
  const failing = all.filter((c) => !c.ok).map((c) => c.reason);
  const passing = all.filter((c) => c.ok).map((c) => c.reason);
  return {
    expected: failing.length === 0,
    why: [...new Set([...failing, ...passing])],
    site,
    account,
    windows,
    tier,
    critical,
    checks,
  };
}
