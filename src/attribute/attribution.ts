/**
 * The attribution of a fragment: the account its records name, the session chain, principals
 * inferred from open sessions, and the origin of the call (docs/attribution.md).
 */
import type { Attribution, Operation, Origin, Principal } from "../model/operation.js";
import type { Observation, ObservationKind, SessionRecord } from "../model/record.js";
import {
  type Frag,
  hasHostSide,
  HOST_SIDE,
  isCrowd,
  type Item,
  type Ms,
  NAMING_SLOTS,
  type Slot,
  SLOT,
  sourceKey,
  VCENTER_SLOTS,
} from "./fragments.js";
import {
  accountOf,
  clientFromUserAgent,
  isLoopback,
  namesEndUser,
  normaliseAccount,
  opIdShape,
} from "./identity.js";
import type { JoinWindows } from "./join/pass.js";
import { inputScope, type Session, type SessionIndex, sessionKey } from "./sessions.js";
import { lowerBound } from "./window-join.js";

interface Claim {
  readonly principal: Principal;
  /** `obs:<i>` or a session record to add to the operation's sessions. */
  readonly evidence: { readonly obs?: Observation; readonly session?: SessionRecord };
  readonly what: string;
  /** A whole sentence for the reason, in place of `<what> names <principal>` (session chains). */
  readonly sentence?: () => string;
  /** Ids of other operations the claim relies on (the session's exact operations). */
  readonly related?: readonly string[];
}

const describeObs = (o: Observation): string => {
  switch (o.kind) {
    case "vc.event":
      return `vCenter event${o.eventKey ? ` ${o.eventKey}` : ""}`;
    case "vc.auth-failure":
      return `vCenter auth-failure event${o.eventKey ? ` ${o.eventKey}` : ""}`;
    case "hostd.state":
      return `hostd state transition${o.opId ? ` of opID ${o.opId}` : ""}`;
    case "hostd.request":
      return `hostd request${o.opId ? ` of opID ${o.opId}` : ""}`;
    case "hostd.event":
      return `hostd event${o.eventKey ? ` ${o.eventKey}` : ""}`;
    case "audit.api-call":
      return "ESXi audit record api.call";
    case "vpxd.lro":
      return `vpxd LRO${o.eventKey ? ` ${o.eventKey}` : ""}`;
    case "vpxd.lro-error":
      return `vpxd LRO error${o.eventKey ? ` ${o.eventKey}` : ""}`;
    case "hostd.args":
    case "hostd.fault":
    case "hostd.file-path":
    case "vc.burst":
    case "vmx.request":
    case "vmx.response":
    case "vpxd.lro-end":
      return o.kind;
  }
};

const PLURAL: ReadonlyMap<ObservationKind, string> = new Map<ObservationKind, string>([
  ["vc.event", "vCenter events"],
  ["vc.auth-failure", "vCenter auth-failure events"],
  ["hostd.state", "hostd state transitions"],
  ["hostd.request", "hostd requests"],
  ["audit.api-call", "ESXi audit records"],
  ["vpxd.lro", "vpxd LROs"],
]);

const pluralOf = (claim: Claim | undefined): string =>
  (claim?.evidence.obs && PLURAL.get(claim.evidence.obs.kind)) ?? "records";

export const uniqueById = (list: readonly Principal[]): Principal[] => {
  const seen = new Map<string, Principal>();
  for (const p of list) if (!seen.has(p.id)) seen.set(p.id, p);
  return [...seen.values()];
};

/* ------------------------------------------------------------------------------------------------
 * Session chain: a vCenter session (the session key of vpxd LROs) and a hostd session (its sid)
 * belong to one account, so the operations of a session whose own records name their account
 * (`exact`) name the account of the session's other operations (`correlated`). Keys are scoped:
 * per vCenter (or per vpxd.log when it names no vCenter) and per host. hostd sessions that carry
 * vCenter's calls (vpxuser) serve every vCenter user and belong to no one.
 * ---------------------------------------------------------------------------------------------- */

/** A session key as one record of an operation carries it, scoped to its vCenter or host. */
interface SessionRef {
  /** Map key: kind, scope and normalised key. */
  readonly id: string;
  readonly kind: "vcenter" | "host";
  readonly scope: string;
  /** Normalised key (vCenter session key, hostd sid), lower case. */
  readonly key: string;
  /** Where the session lives, for reasons: the vCenter or host, else the input. */
  readonly where: string;
  /** `where` names the vCenter or host (not only the input). */
  readonly named: boolean;
}

/** Slots whose session key is the call's own (not that of a piece placed by time). */
const SESSION_SLOTS: ReadonlySet<Slot> = new Set([
  "vpxd.lro",
  "vpxd.lro-end",
  "hostd.state",
  "hostd.request",
  "hostd.event",
  "audit",
]);

const isLroItem = (i: Item): boolean => i.slot === "vpxd.lro" || i.slot === "vpxd.lro-end";

/** The fragment's vpxd LRO was placed by time among several: it is not this call's for certain. */
function lroPairedOf(frag: Frag): boolean {
  return isCrowd(frag.alternatives.get("vpxd.lro"));
}

function sessionRefOf(item: Item): SessionRef | undefined {
  const raw = item.obs.session;
  if (!raw || !SESSION_SLOTS.has(item.slot)) return undefined;
  if (isLroItem(item)) {
    const key = sessionKey(raw, "vcenter");
    if (!key) return undefined;
    const input = sourceKey(item.obs);
    const scope = item.vcenter ? `vc:${item.vcenter}` : `input:${input}`;
    const where = item.vcenter ?? input;
    const named = item.vcenter !== undefined;
    return { id: `vc\u0000${scope}\u0000${key}`, kind: "vcenter", scope, key, where, named };
  }
  if (!item.scope) return undefined;
  const key = sessionKey(raw, "host");
  if (!key) return undefined;
  const where = item.host ?? sourceKey(item.obs);
  const named = item.host !== undefined;
  return {
    id: `host\u0000${item.scope}\u0000${key}`,
    kind: "host",
    scope: item.scope,
    key,
    where,
    named,
  };
}

/** The session keys an operation's own records carry (an LRO placed by time lends none). */
function sessionRefs(frag: Frag): SessionRef[] {
  const paired = lroPairedOf(frag);
  const out = new Map<string, SessionRef>();
  for (const item of frag.items) {
    if (paired && isLroItem(item)) continue;
    const ref = sessionRefOf(item);
    if (ref && !out.has(ref.id)) out.set(ref.id, ref);
  }
  return [...out.values()];
}

/** Earliest and latest record time of a fragment. */
export function spanOf(frag: Frag): readonly [Ms, Ms] | undefined {
  let lo: Ms | undefined;
  let hi: Ms | undefined;
  for (const i of frag.items) {
    if (i.t === undefined) continue;
    lo = lo === undefined ? i.t : Math.min(lo, i.t);
    hi = hi === undefined ? i.t : Math.max(hi, i.t);
  }
  return lo === undefined || hi === undefined ? undefined : [lo, hi];
}

/** An operation of a session whose own records name an end user. */
interface SessionSource {
  readonly principal: Principal;
  /** `Operation.id` of that operation. */
  readonly operation: string;
  readonly span: readonly [Ms, Ms] | undefined;
  /** The record that names the account (`vCenter event 88251`), its kind and key. */
  readonly what: string;
  readonly kind?: ObservationKind;
  readonly key?: string;
}

interface SessionBook {
  /** The session carries calls of several accounts (a vpxuser hostd session): no chain. */
  shared: boolean;
  /** Sources with a time, sorted by start (`starts` holds the starts); then those without. */
  timed: SessionSource[];
  starts: Ms[];
  untimed: SessionSource[];
  /** Longest source span, to bound the look-back of a window search. */
  longest: Ms;
}

export type SessionBooks = Map<string, SessionBook>;

/** A record of the call names an end user: no chain ever changes such an operation. */
const isFinal = (op: Operation): boolean =>
  op.attribution.level === "exact" &&
  op.attribution.principal !== undefined &&
  namesEndUser(op.attribution.principal);

/** The operation could take an account from a session chain (its own or its LRO candidates'). */
export const chainable = (frag: Frag, op: Operation): boolean =>
  !op.hidden && !isFinal(op) && (lroPairedOf(frag) || sessionRefs(frag).length > 0);

export function copyBooks(books: SessionBooks): SessionBooks {
  const out: SessionBooks = new Map();
  for (const [id, b] of books) {
    out.set(id, {
      shared: b.shared,
      timed: [...b.timed],
      starts: [...b.starts],
      untimed: [...b.untimed],
      longest: b.longest,
    });
  }
  return out;
}

/** Adds the built operations' sessions to `books`: their sources and whether they are shared. */
export function recordSessions(
  built: readonly { readonly frag: Frag; readonly op: Operation }[],
  index: SessionIndex,
  books: SessionBooks,
): void {
  for (const { frag, op } of built) {
    if (op.hidden) continue;
    const refs = sessionRefs(frag);
    if (refs.length === 0) continue;
    const p = op.attribution.principal;
    const throughVcenter =
      op.origin.via === "vcenter" || p?.kind === "vpxuser" || p?.viaVcenter === true;
    const naming = p && isFinal(op) ? namingRecord(op) : undefined;
    const source: SessionSource | undefined =
      p && naming
        ? {
            principal: p,
            operation: op.id,
            span: spanOf(frag),
            what: naming.what,
            ...(naming.obs ? { kind: naming.obs.kind } : {}),
            ...(naming.obs?.eventKey ? { key: naming.obs.eventKey } : {}),
          }
        : undefined;
    for (const ref of refs) {
      let book = books.get(ref.id);
      if (!book) {
        book = { shared: false, timed: [], starts: [], untimed: [], longest: 0 };
        books.set(ref.id, book);
      }
      if (
        ref.kind === "host" &&
        (throughVcenter || index.byKey(ref.scope, ref.key, "host")?.principal?.kind === "vpxuser")
      ) {
        book.shared = true;
      }
      if (!source) continue;
      if (source.span) {
        book.timed.push(source);
        book.longest = Math.max(book.longest, source.span[1] - source.span[0]);
      } else book.untimed.push(source);
    }
  }
  for (const book of books.values()) {
    book.timed.sort(
      (a, b) =>
        (a.span?.[0] ?? 0) - (b.span?.[0] ?? 0) ||
        (a.operation < b.operation ? -1 : a.operation > b.operation ? 1 : 0),
    );
    book.starts = book.timed.map((x) => x.span?.[0] ?? 0);
  }
}

/** The record an exact operation's attribution rests on, described. */
function namingRecord(op: Operation): { what: string; obs?: Observation } {
  for (const id of op.attribution.evidence) {
    const m = /^obs:(\d+)$/.exec(id);
    const obs = m ? op.observations[Number(m[1])] : undefined;
    if (obs) return { what: describeObs(obs), obs };
  }
  return { what: `${op.api}${op.time ? ` at ${op.time}` : ""}` };
}

/** Forgets sources too old to reach an operation that may still be built (live use). */
export function pruneBooks(books: SessionBooks, before: Ms): void {
  for (const [id, b] of books) {
    b.timed = b.timed.filter((s) => (s.span?.[1] ?? before) >= before);
    b.starts = b.timed.map((s) => s.span?.[0] ?? 0);
    b.longest = b.timed.reduce((n, s) => Math.max(n, (s.span?.[1] ?? 0) - (s.span?.[0] ?? 0)), 0);
    if (b.timed.length === 0 && b.untimed.length === 0) books.delete(id);
  }
}

export interface SessionChain {
  readonly books: SessionBooks;
  /** `JoinWindows.sessionChain`. */
  readonly window: Ms;
}

/** Related operations kept per account of a session chain (the nearest in time). */
const RELATED_MAX = 8;

interface SiblingGroup {
  readonly principal: Principal;
  /** How many exact operations of the session within the window name the account. */
  count: number;
  /** The nearest of them in time, nearest first (at most `RELATED_MAX`). */
  readonly nearest: SessionSource[];
}

/**
 * The exact operations of `ref`'s session that lie within the window of `span`, per account,
 * found by walking outward from the operation's start so that the nearest come first.
 */
function sessionSiblings(
  chain: SessionChain,
  ref: SessionRef,
  span: readonly [Ms, Ms] | undefined,
): SiblingGroup[] {
  const book = chain.books.get(ref.id);
  if (!book || book.shared) return [];
  const groups = new Map<string, SiblingGroup>();
  const add = (x: SessionSource): void => {
    let g = groups.get(x.principal.id);
    if (!g) {
      g = { principal: x.principal, count: 0, nearest: [] };
      groups.set(x.principal.id, g);
    }
    g.count++;
    if (g.nearest.length < RELATED_MAX) g.nearest.push(x);
  };
  const { timed, starts } = book;
  if (span === undefined) for (const x of timed) add(x);
  else {
    const w = chain.window;
    const leftmost = span[0] - w - book.longest;
    let hi = lowerBound(starts, span[0]);
    let lo = hi - 1;
    for (;;) {
      const right = hi < timed.length && (starts[hi] ?? 0) <= span[1] + w;
      const left = lo >= 0 && (starts[lo] ?? 0) >= leftmost;
      if (!right && !left) break;
      const takeRight =
        right && (!left || (starts[hi] ?? 0) - span[0] <= span[0] - (starts[lo] ?? 0));
      const x = takeRight ? timed[hi++] : timed[lo--];
      if (x?.span && x.span[1] >= span[0] - w && x.span[0] <= span[1] + w) add(x);
    }
  }
  for (const x of book.untimed) add(x);
  return [...groups.values()];
}

/**
 * `vpxd LRO lro-1 ran in vCenter session S of vc01, whose 3 other operations name X exactly
 * (vCenter events 88251, 88255, 88259)`: the records nearest in time first.
 */
function siblingSentence(item: Item, ref: SessionRef, group: SiblingGroup): string {
  const o = item.obs;
  const record = isLroItem(item) ? `vpxd LRO${o.eventKey ? ` ${o.eventKey}` : ""}` : describeObs(o);
  const shown = group.nearest.slice(0, 4);
  const [first] = shown;
  const plural = first?.kind ? PLURAL.get(first.kind) : undefined;
  const list =
    plural && shown.length > 1 && shown.every((x) => x.kind === first?.kind && x.key)
      ? `${plural} ${shown.map((x) => x.key ?? "").join(", ")}`
      : [...new Set(shown.map((x) => x.what))].join(", ");
  const where = ref.named
    ? `of ${ref.where}`
    : `of the ${ref.kind === "vcenter" ? "vCenter" : "host"} that wrote ${ref.where}`;
  const n = group.count;
  return `${record} ran in ${ref.kind === "vcenter" ? "vCenter" : "hostd"} session ${ref.key} ${where}, whose ${n === 1 ? "other operation names" : `${n} other operations name`} ${group.principal.display} exactly (${list}${n > shown.length ? ", …" : ""})`;
}

/** The sessions an item's session key may name (none, one, or several when its scope is unsure). */
function sessionsOfItem(item: Item, index: SessionIndex): Session[] {
  const key = item.obs.session;
  if (!key) return [];
  if (VCENTER_SLOTS.has(item.slot)) {
    // a vCenter session key is scoped to its vCenter: a vpxd.log that names none may hold it,
    // another vCenter's never
    const own = item.vcenter
      ? index.byKey(`vc:${item.vcenter}`, key, "vcenter")
      : index.byKey(inputScope(item.obs.prov.source), key, "vcenter");
    return own
      ? [own]
      : index
          .byKeyAnyScope(key, "vcenter")
          .filter((x) => !item.vcenter || x.scope.startsWith("input:"));
  }
  const s = item.scope ? index.byKey(item.scope, key, "host") : undefined;
  return s ? [s] : [];
}

/**
 * A record of an operation in a session is a sign of the session's life: in live use, a session
 * still in use is not forgotten `sessionHorizon` after its login (only after its last use).
 */
export function sessionInUse(item: Item, index: SessionIndex): void {
  if (item.t === undefined) return;
  for (const s of sessionsOfItem(item, index)) if (item.t > s.last) s.last = item.t;
}

export interface Built {
  readonly attribution: Attribution;
  readonly origin: Origin;
  readonly sessions: SessionRecord[];
  readonly notes: string[];
}

export function attributeFrag(
  frag: Frag,
  observations: readonly Observation[],
  index: SessionIndex,
  w: JoinWindows,
  sessionChain: SessionChain | undefined,
): Built {
  const sessionsUsed: SessionRecord[] = [];
  const notes: string[] = [];
  const obsId = (o: Observation): string => `obs:${observations.indexOf(o)}`;
  const sessionId = (r: SessionRecord): string => {
    let i = sessionsUsed.indexOf(r);
    if (i < 0) i = sessionsUsed.push(r) - 1;
    return `session:${i}`;
  };
  const relatedOf = (claims: readonly Claim[]): { related?: string[] } => {
    const ids = [...new Set(claims.flatMap((c) => c.related ?? []))].sort();
    return ids.length ? { related: ids } : {};
  };
  const evidenceIds = (claims: readonly Claim[]): string[] =>
    [
      ...new Set(
        claims.map((c) =>
          c.evidence.obs
            ? obsId(c.evidence.obs)
            : c.evidence.session
              ? sessionId(c.evidence.session)
              : "",
        ),
      ),
    ].filter((x) => x !== "");

  // 1. Records of this very call that name a principal.
  const firm: Claim[] = [];
  const vpxuserClaims: Claim[] = [];
  const orderedGroups: { claims: Claim[]; principals: Principal[]; complete: boolean }[] = [];
  for (const item of frag.items) {
    if (!NAMING_SLOTS.has(item.slot)) continue;
    if (
      (item.slot === "args" || item.slot === "fault") &&
      !(item.opId && frag.opIds.has(item.opId))
    ) {
      continue; // placed by time only: not a record of this call for certain
    }
    const raw = item.obs.user?.trim();
    if (!raw) continue;
    const principal = accountOf(raw);
    if (principal.kind === "unknown") continue;
    const claim: Claim = { principal, evidence: { obs: item.obs }, what: describeObs(item.obs) };
    const alts = frag.alternatives.get(item.slot);
    if (isCrowd(alts) && alts.items.includes(item)) {
      const principals = alts.items.map((a) =>
        a.obs.user?.trim() ? accountOf(a.obs.user) : undefined,
      );
      orderedGroups.push({
        claims: [claim],
        principals: uniqueById(
          principals.filter((p): p is Principal => p !== undefined && p.kind !== "unknown"),
        ),
        complete: alts.balanced && principals.every((p) => p !== undefined && p.kind !== "unknown"),
      });
      continue;
    }
    if (namesEndUser(principal)) firm.push(claim);
    else vpxuserClaims.push(claim);
  }

  // 2. Chains: opID claims (records of the same opID family naming a user), the session's own
  // records (login, `[Auth]`), and the session's exact operations (never for an exact call).
  const span = spanOf(frag);
  const siblingClaims = (item: Item): Claim[] => {
    if (!sessionChain || firm.length > 0) return [];
    const ref = sessionRefOf(item);
    if (!ref) return [];
    return sessionSiblings(sessionChain, ref, span).map((group) => ({
      principal: group.principal,
      evidence: { obs: item.obs },
      what: `${ref.kind === "vcenter" ? "vCenter" : "hostd"} session ${ref.key}`,
      sentence: () => siblingSentence(item, ref, group),
      related: group.nearest.map((x) => x.operation),
    }));
  };
  const chainOf = (item: Item): { claims: Claim[]; session: Session | undefined } => {
    const claims: Claim[] = siblingClaims(item);
    if (item.opId) {
      for (const c of index.claimsFor(item.opId)) {
        if (c.principal.kind === "unknown") continue;
        claims.push({
          principal: c.principal,
          evidence: { session: c.record },
          what: `${c.record.kind} record of opID ${c.record.opId ?? c.opId}`,
        });
      }
    }
    const found = sessionsOfItem(item, index);
    const [s] = found;
    if (found.length !== 1 || !s?.principal || s.principal.kind === "unknown") {
      return { claims, session: undefined };
    }
    const record = s.records[0];
    claims.push({
      principal: s.principal,
      evidence: record ? { session: record } : {},
      what: `${VCENTER_SLOTS.has(item.slot) ? "vCenter" : "hostd"} session ${s.key ?? ""}`,
    });
    return { claims, session: s };
  };
  // an LRO placed by time among several is not this call's for certain: its chain is a crowd
  const lroAlts = frag.alternatives.get("vpxd.lro");
  const lroPaired = lroPairedOf(frag);
  const isLro = isLroItem;
  const chain: Claim[] = [];
  let chainSession: Session | undefined;
  const seenChain = new Set<string>();
  for (const item of frag.items) {
    if (lroPaired && isLro(item)) continue;
    const key = `${item.opId ?? ""}\u0000${item.obs.session ?? ""}\u0000${item.scope ?? item.vcenter ?? ""}`;
    if (seenChain.has(key)) continue;
    seenChain.add(key);
    const { claims, session } = chainOf(item);
    for (const c of claims) chain.push(c);
    if (session) chainSession ??= session;
  }
  // with more calls than LROs nearby, this call may have none of them (a direct call): the
  // crowd then says nothing about its account
  if (lroPaired && lroAlts?.balanced) {
    const own = frag.items.filter(isLro).flatMap((i) => chainOf(i).claims);
    const ownEnd = own.filter((c) => namesEndUser(c.principal));
    if (ownEnd.length) {
      const perAlternative = lroAlts.items.map((i) =>
        uniqueById(
          chainOf(i)
            .claims.map((c) => c.principal)
            .filter(namesEndUser),
        ),
      );
      orderedGroups.push({
        claims: ownEnd,
        principals: uniqueById(perAlternative.flat()),
        complete: perAlternative.every((p) => p.length === 1),
      });
    }
  }
  const chainEnd = uniqueById(
    chain.filter((c) => namesEndUser(c.principal)).map((c) => c.principal),
  );

  const firmIds = uniqueById(firm.map((c) => c.principal));
  let attribution: Attribution;
  const conflict = (cands: Principal[], why: string, claims: readonly Claim[]): Attribution => ({
    level: "ambiguous",
    candidates: cands,
    reason: why,
    evidence: evidenceIds(claims),
    ...relatedOf(claims),
  });
  /** `<what>, <what> name X; <session sentence>`: what the claims naming `p` say. */
  const naming = (claims: readonly Claim[], p: Principal): string => {
    const plain = claims.filter((c) => c.sentence === undefined);
    const parts = plain.length
      ? [`${plain.map((c) => c.what).join(", ")} name${plain.length > 1 ? "" : "s"} ${p.display}`]
      : [];
    for (const c of claims) if (c.sentence !== undefined) parts.push(c.sentence());
    return [...new Set(parts)].join("; ");
  };
  const orderedUnanimous = orderedGroups.filter((g) => g.principals.length === 1 && g.complete);
  const orderedSplit = orderedGroups.filter((g) => !(g.principals.length === 1 && g.complete));
  /**
   * A time-paired group says the call's account is one of its candidates' (or, when some
   * candidate names no one, perhaps none of them): it contradicts an account only when it names
   * end users and that account is not among them.
   */
  const allows =
    (p: Principal) =>
    (g: (typeof orderedGroups)[number]): boolean => {
      const ends = g.principals.filter(namesEndUser);
      return ends.length === 0 || ends.some((x) => x.id === p.id);
    };
  const unanimousIds = uniqueById(orderedUnanimous.flatMap((g) => g.principals));
  const unanimous =
    unanimousIds.length === 1 && unanimousIds[0] && namesEndUser(unanimousIds[0])
      ? unanimousIds[0]
      : undefined;

  if (firmIds.length > 1) {
    attribution = conflict(
      firmIds,
      `records of this operation name ${firmIds.length} different accounts`,
      firm,
    );
  } else if (firmIds.length === 1 && firmIds[0]) {
    const p = firmIds[0];
    const other = chainEnd.filter((c) => c.id !== p.id);
    if (other.length) {
      attribution = conflict(
        [p, ...other],
        `${firm[0]?.what ?? "a record"} names ${p.display} but the opID/session chain names ${other.map((o) => o.display).join(", ")}`,
        [...firm, ...chain],
      );
    } else {
      const via = firm.filter((c) => c.principal.id === p.id);
      attribution = {
        level: "exact",
        principal: via.find((c) => c.principal.viaVcenter)?.principal ?? p,
        reason: `${via.map((c) => c.what).join(", ")} name${via.length > 1 ? "" : "s"} ${p.display}`,
        evidence: evidenceIds(via),
      };
    }
  } else if (chainEnd.length > 1) {
    attribution = conflict(
      chainEnd,
      `the opID/session chain names several accounts: ${chainEnd
        .map((p) =>
          naming(
            chain.filter((c) => c.principal.id === p.id),
            p,
          ),
        )
        .join("; ")}`,
      chain,
    );
  } else if (chainEnd.length === 1 && chainEnd[0]) {
    const p = chainEnd[0];
    const clash = orderedGroups
      .filter((g) => !allows(p)(g))
      .flatMap((g) => g.principals)
      .filter(namesEndUser);
    if (clash.length) {
      attribution = conflict(
        uniqueById([p, ...clash]),
        "the chain and a time-paired record disagree",
        chain,
      );
    } else {
      const via = chain.filter((c) => c.principal.id === p.id);
      attribution = {
        level: "correlated",
        principal: p,
        reason: `${naming(via, p)}${vpxuserClaims.length ? " (hostd saw only vpxuser)" : ""}`,
        evidence: evidenceIds([...via, ...vpxuserClaims]),
        ...relatedOf(via),
      };
    }
  } else if (orderedSplit.length && !(unanimous && orderedSplit.every(allows(unanimous)))) {
    const cands = uniqueById(orderedSplit.flatMap((g) => g.principals));
    attribution = {
      level: "ambiguous",
      ...(cands.length ? { candidates: cands } : {}),
      reason:
        cands.length > 1
          ? `several ${pluralOf(orderedSplit[0]?.claims[0])} fit this operation in time and they do not name one account`
          : `the ${pluralOf(orderedSplit[0]?.claims[0])} that fit this operation in time fit other calls too (more calls than records nearby): none is this call's for certain`,
      evidence: evidenceIds(orderedSplit.flatMap((g) => g.claims)),
    };
  } else if (orderedUnanimous.length) {
    const ids = uniqueById(orderedUnanimous.flatMap((g) => g.principals));
    const [p] = ids;
    if (ids.length === 1 && p && namesEndUser(p)) {
      attribution = {
        level: "correlated",
        principal: p,
        reason: `paired in time order with one of several ${pluralOf(orderedUnanimous[0]?.claims[0])} that fit; every candidate names ${p.display}`,
        evidence: evidenceIds(orderedUnanimous.flatMap((g) => g.claims)),
        ...relatedOf(orderedUnanimous.flatMap((g) => g.claims)),
      };
    } else if (ids.length === 1 && p) {
      attribution = {
        level: "exact",
        principal: p,
        reason: `every candidate record names ${p.display} (vCenter passed no end user)`,
        evidence: evidenceIds(orderedUnanimous.flatMap((g) => g.claims)),
      };
    } else {
      attribution = conflict(
        ids,
        "time-paired records name several accounts",
        orderedUnanimous.flatMap((g) => g.claims),
      );
    }
  } else if (vpxuserClaims.length) {
    const p = vpxuserClaims[0]?.principal ?? normaliseAccount("vpxuser:<no user>");
    attribution = {
      level: "exact",
      principal: p,
      reason: `${vpxuserClaims.map((c) => c.what).join(", ")} name${vpxuserClaims.length > 1 ? "" : "s"} ${p.display}: the call came through vCenter, which passed no end user`,
      evidence: evidenceIds(vpxuserClaims),
    };
  } else {
    attribution = inferFromOpenSessions(frag, index, w, sessionId);
  }

  // A record of this call names an account that could not be read (a garbled vCenter event):
  // unless a record names an end user, no one else is named for it, not even vpxuser.
  const unreadable = frag.items.find((i) => i.obs.userUnreadable === true);
  if (unreadable && firmIds.length === 0 && attribution.level !== "ambiguous") {
    attribution = {
      level: "unknown",
      reason: `${describeObs(unreadable.obs)} names an account that could not be read${attribution.principal ? `: ${attribution.principal.display} is not taken for it` : ""}`,
      evidence: [obsId(unreadable.obs)],
    };
  }

  // Origin: via, address, client.
  const origin = originOf(
    frag,
    attribution,
    [...firm, ...vpxuserClaims, ...chain],
    chainSession,
    index,
    w,
  );
  for (const r of origin.sessions) if (!sessionsUsed.includes(r)) sessionsUsed.push(r);
  return { attribution, origin: origin.origin, sessions: sessionsUsed, notes };
}

function inferFromOpenSessions(
  frag: Frag,
  index: SessionIndex,
  w: JoinWindows,
  sessionId: (r: SessionRecord) => string,
): Attribution {
  const t = frag.start ?? frag.event ?? frag.done;
  const hostSide = hasHostSide(frag);
  if (!hostSide || t === undefined || !frag.scope) {
    return {
      level: "unknown",
      reason: "no record of this operation names an account",
      evidence: [],
    };
  }
  const open = index
    .openAt(frag.scope, t, w.sessionHorizon)
    .filter((s) => s.principal && s.principal.kind !== "unknown");
  const principals = uniqueById(
    open.map((s) => s.principal).filter((p): p is Principal => p !== undefined),
  );
  const hostName = frag.host ?? "this host";
  if (principals.length === 1 && principals[0]) {
    const p = principals[0];
    const described = open
      .slice(0, 3)
      .map(
        (s) =>
          `${p.display}${s.sourceIp ? `@${s.sourceIp}` : ""}${s.userAgent ? ` (${s.userAgent})` : ""}`,
      )
      .join(", ");
    return {
      level: "inferred",
      principal: p,
      reason: `only ${p.display} had a session open on ${hostName} then (${described}${open.length > 3 ? ", …" : ""}); no record of the operation names an account`,
      evidence: open.flatMap((s) => (s.records[0] ? [sessionId(s.records[0])] : [])),
    };
  }
  if (principals.length > 1) {
    return {
      level: "unknown",
      reason: `no record of the operation names an account; ${principals.length} accounts had sessions open on ${hostName} then (${principals.map((p) => p.display).join(", ")}): not inferred`,
      evidence: [],
    };
  }
  return {
    level: "unknown",
    reason:
      "no record of this operation names an account, and no session was open on the host then",
    evidence: [],
  };
}

function originOf(
  frag: Frag,
  attribution: Attribution,
  claims: readonly Claim[],
  chainSession: Session | undefined,
  index: SessionIndex,
  w: JoinWindows,
): { origin: Origin; sessions: SessionRecord[] } {
  const shapes = [...frag.opIds].map(opIdShape);
  // vCenter ran the call (a vpxd LRO), or a record says vCenter passed it on (`vpxuser:` prefix,
  // vpxa hop suffix); a vCenter event alone does not say so (vCenter reports direct calls too)
  const vcenterRecord = [...frag.slots].some((s) => VCENTER_SLOTS.has(s));
  const explicitVcenter =
    frag.slots.has("vpxd.lro") ||
    frag.slots.has("vpxd.lro-end") ||
    claims.some((c) => c.principal.viaVcenter) ||
    attribution.principal?.viaVcenter === true ||
    shapes.some((s) => s.via === "vcenter");
  const vpxuserClaim = claims.some((c) => c.principal.kind === "vpxuser");
  const hostClaim = claims.some(
    (c) =>
      c.evidence.obs &&
      HOST_SIDE.has(SLOT.get(c.evidence.obs.kind) ?? "burst") &&
      c.principal.kind === "host-local",
  );
  // the session the attribution rests on: the call's own (correlated), else the inferred one
  let tied: readonly Session[] = chainSession ? [chainSession] : [];
  let basis: "exact" | "correlated" | "inferred" | undefined = chainSession
    ? "correlated"
    : undefined;
  if (!chainSession && attribution.level === "inferred" && frag.scope) {
    const t = frag.start ?? frag.event ?? frag.done;
    if (t !== undefined) {
      const open = index
        .openAt(frag.scope, t, w.sessionHorizon)
        .filter((s) => s.principal?.id === attribution.principal?.id);
      // several records of one login (an accepted password, then `logged in as`) may index as
      // several sessions: they give the origin when they agree on it
      if (open.length > 0 && agreeOnOrigin(open)) {
        tied = open.slice(0, 3);
        basis = "inferred";
      }
    }
  }
  const sourceIp = tied.find((s) => s.sourceIp)?.sourceIp;
  const userAgent = tied.find((s) => s.userAgent)?.userAgent;
  // a session from neither loopback (vpxa) nor a vCenter, for a call no vCenter record knows
  const fromHostAddress =
    !vcenterRecord &&
    sourceIp !== undefined &&
    !isLoopback(sourceIp) &&
    !isVcenterAddressOf(sourceIp, index);
  let via: Origin["via"] = "unknown";
  if (explicitVcenter) via = "vcenter";
  else if (fromHostAddress) via = "direct";
  else if (vpxuserClaim) via = "vcenter";
  else if (hostClaim || shapes.some((s) => s.via === "direct")) via = "direct";
  else if (chainSession) {
    via =
      chainSession.scope.startsWith("vc:") || chainSession.principal?.kind === "vpxuser"
        ? "vcenter"
        : "direct";
  }
  const client = clientFromUserAgent(userAgent) ?? shapes.find((s) => s.client)?.client;
  const origin: Origin = {
    via,
    ...(sourceIp ? { sourceIp } : {}),
    ...(userAgent ? { userAgent } : {}),
    ...(client ? { client } : {}),
    ...(basis && tied.length ? { basis } : {}),
  };
  const sessions: SessionRecord[] = [];
  for (const s of tied) {
    const record = s.records[0];
    if (record && !sessions.includes(record)) sessions.push(record);
  }
  return { origin, sessions };
}

/** Sessions agree on an origin: at most one source address and one user agent among them. */
function agreeOnOrigin(sessions: readonly Session[]): boolean {
  const ips = new Set<string>();
  const agents = new Set<string>();
  for (const s of sessions) {
    if (s.sourceIp) ips.add(s.sourceIp);
    if (s.userAgent) agents.add(s.userAgent);
  }
  return ips.size <= 1 && agents.size <= 1;
}

/** A vCenter the logs name by its address (a vpxd.log or event stream whose host is an IP). */
const isVcenterAddressOf = (ip: string, index: SessionIndex): boolean =>
  index.vcenterAddresses.has(ip.toLowerCase());
