/**
 * A compact index of sessions (hostd and vCenter logins, accepted passwords, `[Auth]` lines,
 * audit connects) so that attribution can ask: who owns session S on host H, which account do
 * the records of opID O name, and which sessions were open on host H at time T.
 *
 * Memory grows with the number of distinct sessions, not with the number of session lines: a
 * session keeps its times, interned strings and at most three records as evidence (the first
 * login-like record, the accepted-password record, the logout).
 */
import type { Principal } from "../model/operation.js";
import type { SessionRecord } from "../model/record.js";
import { accountOf, hostKey, isAddress, opIdPrefixes } from "./identity.js";

type Ms = number;

export interface Session {
  /** Host key, vCenter key, or `input:<file>` when the source names no host. */
  readonly scope: string;
  /** hostd `sid` (first 8 hex of the session key) or vCenter session key, lower case. */
  readonly key: string | undefined;
  principal: Principal | undefined;
  sourceIp: string | undefined;
  userAgent: string | undefined;
  login: Ms | undefined;
  logout: Ms | undefined;
  first: Ms;
  last: Ms;
  /** Evidence: login, password-accepted, logout records (at most one of each). */
  readonly records: SessionRecord[];
}

/** Sessions of one scope sorted by start, with the longest spans (to bound a lookup). */
interface ScopeSessions {
  readonly list: readonly Session[];
  readonly starts: readonly number[];
  readonly longestLogged: number;
  readonly longestUnlogged: number;
}

export interface OpIdClaim {
  readonly opId: string;
  readonly scope: string;
  readonly principal: Principal;
  readonly record: SessionRecord;
}

/** hostd's `sid` is the first 8 hex digits of the session key (`52f0e556-5be4-…` → `52f0e556`). */
export function sessionKey(
  raw: string | undefined,
  scopeKind: "host" | "vcenter",
): string | undefined {
  if (!raw) return undefined;
  const text = raw.trim().toLowerCase();
  if (text === "") return undefined;
  if (scopeKind === "host") {
    const m = /^([0-9a-f]{8})(?:-|$)/.exec(text);
    return m ? m[1] : text;
  }
  // vpxd writes `<key>(<key2>)`: the first is the session.
  const paren = text.indexOf("(");
  return paren > 0 ? text.slice(0, paren) : text;
}

/** Where a session record belongs: its host, its vCenter, or its input file. */
export function sessionScope(record: SessionRecord): { scope: string; kind: "host" | "vcenter" } {
  const vcProcess = /^(vpxd|vcenter|vpxd-svcs|sso)/i.test(record.process ?? "");
  if (record.vcenter || vcProcess) {
    const name = record.vcenter ?? record.host ?? record.prov.source.hostHint;
    return {
      scope: name ? `vc:${hostKey(name)}` : inputScope(record.prov.source),
      kind: "vcenter",
    };
  }
  const host = record.host ?? record.prov.source.hostHint;
  return { scope: host ? hostKey(host) : inputScope(record.prov.source), kind: "host" };
}

/** The scope of records from a source that names no host: the input itself. */
export const inputScope = (source: SessionRecord["prov"]["source"]): string =>
  `input:${source.path}${source.member ? `!${source.member}` : ""}`;

const timeOf = (iso: string | undefined): Ms | undefined => {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
};

/** The index. Add records in any order; query after `seal()`. */
export class SessionIndex {
  readonly #byKey = new Map<string, Session>();
  /** Sessions by key alone, whatever their scope. */
  readonly #byBareKey = new Map<string, Session[]>();
  #anonymous: Session[] = [];
  /** Anonymous sessions without a logout yet, per scope (a logout closes the latest match). */
  readonly #openAnonymous = new Map<string, Session[]>();
  readonly #byOpId = new Map<string, OpIdClaim[]>();
  /**
   * Anonymous sessions by what their login (or logout) line says: a copy of that line (a receiver
   * that duplicates, a file read twice) finds its session here instead of opening another.
   */
  readonly #anonymousByLine = new Map<string, Session>();
  readonly #strings = new Map<string, string>();
  #byScope: Map<string, ScopeSessions> | undefined;
  records = 0;
  /** vCenters the logs name by address (lower case): sessions from them came through vCenter. */
  readonly vcenterAddresses = new Set<string>();

  /** Notes a vCenter name; kept when it is an address (a few dozen at most in any estate). */
  noteVcenter(name: string | undefined): void {
    if (name && this.vcenterAddresses.size < 256 && isAddress(name))
      this.vcenterAddresses.add(name.trim().toLowerCase());
  }

  /** Interned copy: many sessions repeat one user agent or address. */
  #intern(text: string | undefined): string | undefined {
    if (text === undefined) return undefined;
    const known = this.#strings.get(text);
    if (known !== undefined) return known;
    this.#strings.set(text, text);
    return text;
  }

  add(record: SessionRecord): void {
    this.records++;
    this.#byScope = undefined;
    const { scope, kind } = sessionScope(record);
    if (kind === "vcenter") this.noteVcenter(record.vcenter ?? record.host);
    const t = timeOf(record.time);
    const principal = record.user ? accountOf(record.user) : undefined;
    if (record.opId && principal && principal.id !== "") {
      const opId = record.opId.toLowerCase();
      const claims = this.#byOpId.get(opId) ?? [];
      const copy = claims.some(
        (c) =>
          c.scope === scope &&
          c.principal.id === principal.id &&
          c.record.kind === record.kind &&
          c.record.time === record.time,
      );
      if (!copy && claims.length < 8) claims.push({ opId, scope, principal, record });
      this.#byOpId.set(opId, claims);
    }
    if (record.kind === "login-failed") return;
    if (t === undefined) return;
    const key = sessionKey(record.session, kind);
    let session: Session | undefined;
    if (key !== undefined) {
      const mapKey = `${scope}\u0000${key}`;
      session = this.#byKey.get(mapKey);
      if (!session) {
        session = newSession(scope, key, t);
        this.#byKey.set(mapKey, session);
        const same = this.#byBareKey.get(key);
        if (same) same.push(session);
        else this.#byBareKey.set(key, [session]);
      }
    } else {
      const line = [
        scope,
        record.kind,
        t,
        principal?.id ?? "",
        record.sourceIp ?? "",
        record.userAgent ?? "",
      ].join("\u0000");
      const copyOf = this.#anonymousByLine.get(line);
      if (copyOf) {
        this.#update(copyOf, record, principal, t);
        return;
      }
      if (record.kind === "logout" || record.kind === "disconnect") {
        session = this.#findOpenAnonymous(scope, principal, record.sourceIp, t);
        if (session) this.#anonymousByLine.set(line, session);
      } else if (
        record.kind === "login" ||
        record.kind === "password-accepted" ||
        record.kind === "connect"
      ) {
        session = newSession(scope, undefined, t);
        this.#anonymous.push(session);
        const open = this.#openAnonymous.get(scope) ?? [];
        open.push(session);
        this.#openAnonymous.set(scope, open);
        this.#anonymousByLine.set(line, session);
      }
    }
    // an `[Auth]` line without a session adds nothing beyond its opID claim
    if (!session) return;
    this.#update(session, record, principal, t);
  }

  #findOpenAnonymous(
    scope: string,
    principal: Principal | undefined,
    ip: string | undefined,
    t: Ms,
  ): Session | undefined {
    const open = this.#openAnonymous.get(scope);
    if (!open) return undefined;
    let best = -1;
    for (let i = 0; i < open.length; i++) {
      const s = open[i];
      if (!s || s.first > t) continue;
      if (principal && s.principal && s.principal.id !== principal.id) continue;
      if (ip && s.sourceIp && s.sourceIp !== ip) continue;
      if (best < 0 || s.first > (open[best]?.first ?? 0)) best = i;
    }
    if (best < 0) return undefined;
    const [session] = open.splice(best, 1);
    return session;
  }

  #update(session: Session, record: SessionRecord, principal: Principal | undefined, t: Ms): void {
    session.first = Math.min(session.first, t);
    session.last = Math.max(session.last, t);
    if (
      principal &&
      principal.id !== "" &&
      (!session.principal || session.principal.kind === "unknown")
    ) {
      session.principal = principal;
    }
    session.sourceIp ??= this.#intern(record.sourceIp);
    session.userAgent ??= this.#intern(record.userAgent);
    switch (record.kind) {
      case "login":
      case "password-accepted":
      case "connect":
        session.login = session.login === undefined ? t : Math.min(session.login, t);
        if (!session.records.some((r) => r.kind === record.kind)) session.records.push(record);
        break;
      case "logout":
      case "disconnect":
        session.logout = session.logout === undefined ? t : Math.max(session.logout, t);
        if (!session.records.some((r) => r.kind === record.kind)) session.records.push(record);
        break;
      case "auth":
      case "login-failed":
        if (session.records.length === 0) session.records.push(record);
        break;
    }
  }

  /** Number of distinct sessions indexed. */
  get size(): number {
    return this.#byKey.size + this.#anonymous.length;
  }

  /** The session `key` (hostd sid or vCenter session key) in `scope`. */
  byKey(scope: string, rawKey: string, kind: "host" | "vcenter"): Session | undefined {
    const key = sessionKey(rawKey, kind);
    return key === undefined ? undefined : this.#byKey.get(`${scope}\u0000${key}`);
  }

  /** Sessions with this key in any scope (a vpxd session key names one vCenter session). */
  byKeyAnyScope(rawKey: string, kind: "host" | "vcenter"): Session[] {
    const key = sessionKey(rawKey, kind);
    if (key === undefined) return [];
    return [...(this.#byBareKey.get(key) ?? [])];
  }

  /**
   * Records whose opID is this opID or one of its hop prefixes (a vpxd `[Auth]` line of the
   * client's opID claims the host-side opID `<client opID>-xx-yyyy`).
   */
  claimsFor(opId: string): OpIdClaim[] {
    const out: OpIdClaim[] = [];
    for (const prefix of opIdPrefixes(opId)) {
      const claims = this.#byOpId.get(prefix);
      if (claims) for (const c of claims) out.push(c);
    }
    return out;
  }

  /**
   * Sessions that may have been open in `scope` at `t`: started at or before `t`, and either
   * logged out at or after `t`, or (no logout seen) last seen within `horizon` before `t`.
   */
  openAt(scope: string, t: Ms, horizon: Ms): Session[] {
    this.#byScope ??= this.#buildScopes();
    const entry = this.#byScope.get(scope);
    if (!entry) return [];
    const { list, starts, longestLogged } = entry;
    // a session open at t started at most (its length) before t: the longest with a logout, or
    // the horizon past its last sighting for those without one
    const lookBack = Math.max(longestLogged, entry.longestUnlogged + horizon);
    const out: Session[] = [];
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((starts[mid] ?? 0) < t - lookBack) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < list.length; i++) {
      const s = list[i];
      if (!s || (starts[i] ?? 0) > t) break; // sorted by start
      if (s.logout !== undefined ? s.logout >= t : s.last + horizon >= t) out.push(s);
    }
    return out;
  }

  #buildScopes(): Map<string, ScopeSessions> {
    const map = new Map<string, Session[]>();
    for (const s of [...this.#byKey.values(), ...this.#anonymous]) {
      const list = map.get(s.scope) ?? [];
      list.push(s);
      map.set(s.scope, list);
    }
    const out = new Map<string, ScopeSessions>();
    for (const [scope, list] of map) {
      list.sort((a, b) => (a.login ?? a.first) - (b.login ?? b.first));
      let longestLogged = 0;
      let longestUnlogged = 0;
      for (const s of list) {
        const start = s.login ?? s.first;
        if (s.logout !== undefined) longestLogged = Math.max(longestLogged, s.logout - start);
        else longestUnlogged = Math.max(longestUnlogged, s.last - start);
      }
      out.set(scope, {
        list,
        starts: list.map((s) => s.login ?? s.first),
        longestLogged,
        longestUnlogged,
      });
    }
    return out;
  }

  /**
   * Forgets sessions that ended (logout, or last seen when no logout) before `t`, and opID claims
   * older than `t`: for live use, where nothing older can still be joined.
   */
  pruneBefore(t: Ms): void {
    for (const [k, s] of this.#byKey) if ((s.logout ?? s.last) < t) this.#byKey.delete(k);
    for (const [k, list] of this.#byBareKey) {
      const kept = list.filter((s) => (s.logout ?? s.last) >= t);
      if (kept.length) this.#byBareKey.set(k, kept);
      else this.#byBareKey.delete(k);
    }
    this.#anonymous = this.#anonymous.filter((s) => (s.logout ?? s.last) >= t);
    for (const [k, s] of this.#anonymousByLine)
      if ((s.logout ?? s.last) < t) this.#anonymousByLine.delete(k);
    for (const [scope, open] of this.#openAnonymous) {
      const kept = open.filter((s) => s.last >= t);
      if (kept.length) this.#openAnonymous.set(scope, kept);
      else this.#openAnonymous.delete(scope);
    }
    for (const [opId, claims] of this.#byOpId) {
      const kept = claims.filter((c) => (timeOf(c.record.time) ?? t) >= t);
      if (kept.length) this.#byOpId.set(opId, kept);
      else this.#byOpId.delete(opId);
    }
    this.#byScope = undefined;
  }

  /** Scopes that hold at least one session. */
  scopes(): string[] {
    this.#byScope ??= this.#buildScopes();
    return [...this.#byScope.keys()];
  }
}

const newSession = (scope: string, key: string | undefined, t: Ms): Session => ({
  scope,
  key,
  principal: undefined,
  sourceIp: undefined,
  userAgent: undefined,
  login: undefined,
  logout: undefined,
  first: t,
  last: t,
  records: [],
});
