/**
 * The joiner: turns observations from every source into one `Operation` per API call, keeping
 * every observation as evidence, and attributes each operation to a principal with a level of
 * confidence. The algorithm, its windows and its levels are described in docs/attribution.md.
 *
 * Records may arrive in any order: they are buffered (guest-operation observations and a compact
 * session index; nothing else is kept) and joined in time order when `finish()` is called.
 */
import { createHash } from "node:crypto";
import { lookupMethod, methodByApi } from "../model/catalog.js";
import { recordKey } from "../model/record-key.js";
import type {
  Attribution,
  AttributionLevel,
  Operation,
  Origin,
  Principal,
} from "../model/operation.js";
import type {
  CanonicalRecord,
  Observation,
  ObservationKind,
  Outcome,
  SessionRecord,
} from "../model/record.js";
import {
  clientFromUserAgent,
  isLoopback,
  compareVm,
  hostKey,
  mergeVmFacts,
  namesEndUser,
  normaliseAccount,
  opIdBelongsTo,
  opIdPrefixes,
  opIdShape,
  vmFacts,
  type VmFacts,
  type VmMatch,
} from "./identity.js";
import { inputScope, SessionIndex, sessionKey, type Session } from "./sessions.js";

type Ms = number;

/** Time windows of the joins, in milliseconds (docs/attribution.md explains each). */
export interface JoinWindows {
  /** A hostd event may be stamped this much before the call's start (clock granularity). */
  readonly eventBeforeStart: Ms;
  /** A hostd event follows the call's completion (vmware.log response) by at most this. */
  readonly eventAfterCompletion: Ms;
  /** Without a completion time, a hostd event follows the start by at most this. */
  readonly eventAfterStart: Ms;
  /** InitiateFileTransferToGuest: hostd logs the event when the upload ends, up to this later. */
  readonly uploadDuration: Ms;
  /** `Guest File Path is …` follows its transfer's event by at most this. */
  readonly filePathAfterEvent: Ms;
  /** A Solo.Vmomi argument or fault dump follows the call's start by at most this. */
  readonly dumpAfterStart: Ms;
  /** An audit `api.call` record lies this close to the call. */
  readonly audit: Ms;
  /** vCenter and host clocks and event delivery: a vCenter event lies this close to the call. */
  readonly vcenterSkew: Ms;
  /** A vpxd LRO and the host-side call of its opID family lie this close. */
  readonly lroToHost: Ms;
  /** vCenter creates a guest-operation event at most this long after the call returned. */
  readonly eventDelivery: Ms;
  /** Records of one opID farther apart than this are different calls. */
  readonly sameOpId: Ms;
  /** A session without a logout may still be open this long after it was last seen. */
  readonly sessionHorizon: Ms;
  /**
   * Session chain: an operation takes the principal of the exact operations of its session
   * (vCenter session key, hostd sid) that lie this close to it. In live use, an operation that
   * could still be reached this way waits this long before it is released.
   */
  readonly sessionChain: Ms;
  /** Two copies of one record (same event read twice) lie this close. */
  readonly duplicate: Ms;
}

export const DEFAULT_WINDOWS: JoinWindows = {
  eventBeforeStart: 500,
  eventAfterCompletion: 2_000,
  eventAfterStart: 10_000,
  uploadDuration: 3_600_000,
  filePathAfterEvent: 60_000,
  dumpAfterStart: 5_000,
  audit: 2_000,
  vcenterSkew: 10_000,
  lroToHost: 60_000,
  eventDelivery: 5_000,
  sameOpId: 3_600_000,
  sessionHorizon: 48 * 3_600_000,
  sessionChain: 3_600_000,
  duplicate: 1_000,
};

export interface CorrelatorOptions {
  readonly windows?: Partial<JoinWindows>;
}

/** An observation that could not be tied to exactly one operation. */
export interface UnattachedObservation {
  readonly observation: Observation;
  readonly reason: string;
}

export interface CorrelationResult {
  /** Operations in time order (those without a time last); burst records have `hidden`. */
  readonly operations: readonly Operation[];
  /** Evidence that fits no single operation (a guest path with two candidate transfers). */
  readonly unattached: readonly UnattachedObservation[];
  /** Session records read and distinct sessions indexed. */
  readonly sessions: { readonly records: number; readonly sessions: number };
  /** Observations read, and how many were duplicates of another (same record read twice). */
  readonly observations: { readonly read: number; readonly duplicates: number };
}

export interface Correlator {
  /** Hand over one canonical record (observation or session), in any order. */
  readonly add: (record: CanonicalRecord) => void;
  /**
   * For live use: returns the operations that can no longer change because every record of
   * theirs is older than `time` minus the longest join window (records are assumed to arrive at
   * most that late), and forgets them and sessions too old to matter. Records without a time wait
   * for `finish()`. Counts in the result cover what this call returns.
   */
  readonly flushBefore: (time: string | number) => CorrelationResult;
  /** Join everything added so far and return the operations. The correlator is then empty. */
  readonly finish: () => CorrelationResult;
}

/* ------------------------------------------------------------------------------------------------
 * Internal model
 * ---------------------------------------------------------------------------------------------- */

/** The role an observation plays in an operation; a slot holds one record (or its copies). */
type Slot =
  | "vmx.request"
  | "vmx.response"
  | "hostd.event"
  | "hostd.state"
  | "hostd.request"
  | "vpxd.lro"
  | "vpxd.lro-end"
  | "vc.event"
  | "audit"
  | "file-path"
  | "args"
  | "fault"
  | "burst";

const SLOT: ReadonlyMap<ObservationKind, Slot> = new Map<ObservationKind, Slot>([
  ["vmx.request", "vmx.request"],
  ["vmx.response", "vmx.response"],
  ["hostd.event", "hostd.event"],
  ["hostd.state", "hostd.state"],
  ["hostd.request", "hostd.request"],
  ["vpxd.lro", "vpxd.lro"],
  ["vpxd.lro-end", "vpxd.lro-end"],
  ["vpxd.lro-error", "vpxd.lro"], // a failed LRO's ERROR record: the call itself, with its fault
  ["vc.event", "vc.event"],
  ["vc.auth-failure", "vc.event"],
  ["audit.api-call", "audit"],
  ["hostd.file-path", "file-path"],
  ["hostd.args", "args"],
  ["hostd.fault", "fault"],
  ["vc.burst", "burst"],
]);

/** Slots that several records of one call may fill (argument dumps come in parts). */
const SHARED_SLOTS: ReadonlySet<Slot> = new Set(["args"]);

/** Slots whose record is written by vCenter (its host field may be the vCenter appliance). */
const VCENTER_SLOTS: ReadonlySet<Slot> = new Set(["vpxd.lro", "vpxd.lro-end", "vc.event", "burst"]);

/** Observation kinds whose `user` names the principal of this very call. */
const NAMING_SLOTS: ReadonlySet<Slot> = new Set([
  "vc.event",
  "hostd.state",
  "hostd.request",
  "hostd.event",
  "audit",
  "vpxd.lro",
  "args",
  "fault",
]);

interface Item {
  readonly obs: Observation;
  readonly slot: Slot;
  readonly t: Ms | undefined;
  /** Real host key, when the source names the ESXi host. */
  readonly host: string | undefined;
  /** Session scope: the host key, or the input when no host is named. */
  readonly scope: string | undefined;
  readonly vcenter: string | undefined;
  readonly api: string | undefined;
  readonly opId: string | undefined;
  readonly vm: VmFacts;
  /** A vmware.log input is one VM's log: its requests share a VM even when none is named. */
  readonly vmInput: string | undefined;
  /**
   * Tie-break and id source: input hash (once the input has been read to its end; the path
   * before), member and line. Set when the join runs, so ids do not depend on how a path was named.
   */
  order: string;
  /** Identical copies of this record (same line, same host or input) counted, not kept. */
  copies: number;
}

/**
 * The candidates of a join that had several: `items` are the records that could have filled the
 * slot; `balanced` says the crowded group had as many calls as records, so that every call got
 * one of them (if they all name one account, that account is this call's).
 */
interface Alternatives {
  readonly items: readonly Item[];
  readonly balanced: boolean;
  /**
   * The join's group held other calls too (a time pairing among several), even when this call
   * had a single candidate: the record is not this call's for certain.
   */
  readonly crowded?: boolean;
}

/** The slot was filled by a pairing among several candidates or calls. */
const isCrowd = (alts: Alternatives | undefined): alts is Alternatives =>
  alts !== undefined && (alts.items.length > 1 || alts.crowded === true);

interface Frag {
  items: Item[];
  slots: Set<Slot>;
  host: string | undefined;
  scope: string | undefined;
  vcenter: string | undefined;
  vm: VmFacts;
  vmInputs: Set<string>;
  api: string | undefined;
  /** Host-side opIDs (vmware.log, hostd, audit), lower case. */
  opIds: Set<string>;
  /** vCenter-side opIDs (vpxd), lower case. */
  vcOpIds: Set<string>;
  /** The call's start (request, state transition, LRO begin) and completion. */
  start: Ms | undefined;
  done: Ms | undefined;
  event: Ms | undefined;
  vcTime: Ms | undefined;
  /** Slots filled by a join that had several candidates, with every candidate of that join. */
  alternatives: Map<Slot, Alternatives>;
  notes: string[];
  /** Records that were copies of one already in the fragment (same record read twice). */
  copies: number;
  /** Of those, the copies not kept in `items` (identical lines, or beyond the few kept). */
  unlisted: number;
}

const START_SLOTS: ReadonlySet<Slot> = new Set([
  "vmx.request",
  "hostd.state",
  "hostd.request",
  "vpxd.lro",
  "audit",
]);
const DONE_SLOTS: ReadonlySet<Slot> = new Set(["vmx.response", "vpxd.lro-end", "hostd.event"]);
const HOST_SIDE: ReadonlySet<Slot> = new Set([
  "vmx.request",
  "vmx.response",
  "hostd.event",
  "hostd.state",
  "hostd.request",
  "audit",
]);

const parseTime = (iso: string | undefined): Ms | undefined => {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
};

const sourceKey = (obs: Observation | SessionRecord): string => {
  const src = obs.prov.source;
  return `${src.path}${src.member ? `!${src.member}` : ""}`;
};

/** Canonical API of an observation: the reader's, else the catalog's reading of the spelling. */
function apiOf(obs: Observation): string | undefined {
  if (obs.api && methodByApi(obs.api)) return obs.api;
  if (obs.method) return lookupMethod(obs.method)?.api;
  return undefined;
}

function toItem(obs: Observation): Item | undefined {
  const slot = SLOT.get(obs.kind);
  if (!slot) return undefined;
  const src = obs.prov.source;
  const vcenterSide = VCENTER_SLOTS.has(slot);
  const vcenter = obs.vcenter ? hostKey(obs.vcenter) : undefined;
  let host: string | undefined;
  if (vcenterSide) {
    // vCenter readers put the ESXi host the record names in `host`, the vCenter in `vcenter`
    const h = obs.host ? hostKey(obs.host) : undefined;
    host = h && h !== vcenter ? h : undefined;
  } else {
    const name = obs.host ?? src.hostHint;
    host = name ? hostKey(name) || undefined : undefined;
  }
  const scope =
    host ??
    (vcenterSide || slot === "vmx.request" || slot === "vmx.response"
      ? undefined
      : inputScope(src));
  const isVmx = slot === "vmx.request" || slot === "vmx.response";
  let vm: VmFacts;
  if (isVmx) {
    // vmware.log's name is the displayName at power-on or the folder: a hint, not a decision
    const { name, ...rest } = obs.vm ?? {};
    vm = vmFacts(rest, host);
    const dir = vm.dir ?? vmDirFromLogPath(src.member ?? src.path);
    vm = { ...vm, ...(dir ? { dir } : {}), ...(name ? { hints: [name] } : {}) };
  } else vm = vmFacts(obs.vm, vcenterSide ? vcenter : host);
  return {
    obs,
    slot,
    t: parseTime(obs.time),
    host,
    scope,
    vcenter,
    api: apiOf(obs),
    opId: obs.opId && obs.opId !== "-" ? obs.opId.toLowerCase() : undefined,
    vm,
    vmInput: isVmx ? sourceKey(obs) : undefined,
    order: orderKey(obs),
    copies: 0,
  };
}

const orderKey = (obs: Observation): string => {
  const src = obs.prov.source;
  return `${src.sha256 || src.path}\u0000${src.member ?? ""}\u0000${String(obs.prov.line).padStart(12, "0")}`;
};

/** `/vmfs/volumes/ds/web/vmware.log` → `web` (the VM folder) when the path is a datastore path. */
function vmDirFromLogPath(path: string): string | undefined {
  const m = /(?:^|\/)vmfs\/volumes\/[^/]+\/([^/]+)\/vmware(?:-\d+)?\.log(?:\.gz)?$/.exec(path);
  return m?.[1];
}

function newFrag(item: Item): Frag {
  const frag: Frag = {
    items: [item],
    slots: new Set([item.slot]),
    host: item.host,
    scope: item.scope,
    vcenter: item.vcenter,
    vm: item.vm,
    vmInputs: new Set(item.vmInput ? [item.vmInput] : []),
    api: item.api,
    opIds: new Set(),
    vcOpIds: new Set(),
    start: undefined,
    done: undefined,
    event: undefined,
    vcTime: undefined,
    alternatives: new Map(),
    notes: [],
    copies: item.copies,
    unlisted: item.copies,
  };
  addTimes(frag, item);
  if (item.opId) (VCENTER_SLOTS.has(item.slot) ? frag.vcOpIds : frag.opIds).add(item.opId);
  return frag;
}

function addTimes(frag: Frag, item: Item): void {
  const t = item.t;
  if (t === undefined) return;
  if (START_SLOTS.has(item.slot))
    frag.start = frag.start === undefined ? t : Math.min(frag.start, t);
  if (DONE_SLOTS.has(item.slot)) frag.done = frag.done === undefined ? t : Math.max(frag.done, t);
  if (item.slot === "hostd.event")
    frag.event = frag.event === undefined ? t : Math.min(frag.event, t);
  if (item.slot === "vc.event")
    frag.vcTime = frag.vcTime === undefined ? t : Math.min(frag.vcTime, t);
}

/** Merge `b` into `a` (b is consumed). */
function merge(a: Frag, b: Frag): Frag {
  for (const item of b.items) {
    a.items.push(item);
    addTimes(a, item);
  }
  for (const s of b.slots) a.slots.add(s);
  a.host ??= b.host;
  if (a.host && a.scope?.startsWith("input:")) a.scope = a.host;
  a.scope ??= b.scope;
  if (a.scope?.startsWith("input:") && b.scope && !b.scope.startsWith("input:")) a.scope = b.scope;
  a.vcenter ??= b.vcenter;
  a.vm = mergeVmFacts(a.vm, b.vm);
  for (const v of b.vmInputs) a.vmInputs.add(v);
  a.api ??= b.api;
  for (const o of b.opIds) a.opIds.add(o);
  for (const o of b.vcOpIds) a.vcOpIds.add(o);
  for (const [slot, alts] of b.alternatives) a.alternatives.set(slot, alts);
  for (const n of b.notes) if (a.notes.length < MAX_NOTES) a.notes.push(n);
  a.copies += b.copies;
  a.unlisted += b.unlisted;
  return a;
}

/** Notes kept per operation: they describe how it was built, a few say it all. */
const MAX_NOTES = 16;

/** Copies of one record from other sources kept as evidence (the rest are only counted). */
const MAX_KEPT_COPIES = 4;

const apisCompatible = (a: string | undefined, b: string | undefined): boolean =>
  a === undefined || b === undefined || a === b;

const hostsOk = (a: Frag, b: Frag): boolean =>
  a.host === undefined || b.host === undefined || a.host === b.host;

const vcentersOk = (a: Frag, b: Frag): boolean =>
  a.vcenter === undefined || b.vcenter === undefined || a.vcenter === b.vcenter;

/** How the VMs of two fragments relate (vmware.log inputs count as one VM each). */
function vmRelation(a: Frag, b: Frag): VmMatch {
  for (const v of a.vmInputs) if (b.vmInputs.has(v)) return "same";
  if (a.vmInputs.size && b.vmInputs.size) return "different";
  return compareVm(a.vm, b.vm);
}

/** The fragment holds a host-side record (vmware.log, hostd, audit). */
function hasHostSide(f: Frag): boolean {
  for (const s of f.slots) if (HOST_SIDE.has(s)) return true;
  return false;
}

/** A call's host-side times (start, event, completion) as one span widened by `margin` each side. */
function hostSideSpan(l: Frag, margin: Ms): readonly [Ms, Ms] | undefined {
  const start = l.start ?? l.event ?? l.done;
  if (start === undefined) return undefined;
  const end = Math.max(l.done ?? start, l.event ?? start);
  return [start - margin, end + margin];
}

const slotsFree = (a: Frag, b: Frag): boolean => {
  for (const s of b.slots) if (a.slots.has(s) && !SHARED_SLOTS.has(s)) return false;
  return true;
};

/* ------------------------------------------------------------------------------------------------
 * Window join: each left fragment accepts right fragments whose time falls in its range.
 * One left and one right alone in their component join as `unique`; a crowded component is
 * paired in time order (earliest deadline first) and every pair remembers its alternatives.
 * ---------------------------------------------------------------------------------------------- */

interface JoinSpec {
  readonly range: (l: Frag) => readonly [Ms, Ms] | undefined;
  readonly time: (r: Frag) => Ms | undefined;
  /** Grade of a candidate (`false`: not a candidate). Only the best grade of a left is kept. */
  readonly grade: (l: Frag, r: Frag) => VmMatch | false;
  /** The slot of the right side whose alternatives matter for attribution. */
  readonly slot: Slot;
  /** The best grade `grade` can give (default `same`): a search may stop once it has enough. */
  readonly bestGrade?: VmMatch;
}

interface Pair {
  readonly l: Frag;
  readonly r: Frag;
  readonly alternatives: readonly Frag[] | undefined;
  readonly balanced: boolean;
}

const GRADE_RANK: ReadonlyMap<VmMatch, number> = new Map([
  ["same", 3],
  ["likely", 2],
  ["unknown", 1],
]);

interface TimedBucket {
  readonly times: number[];
  readonly frags: Frag[];
}

/** Rights sorted by time, bucketed by method (`""`: method unknown) so long windows stay cheap. */
function bucketRights(rights: readonly Frag[], spec: JoinSpec): Map<string, TimedBucket> {
  const raw = new Map<string, { t: Ms; r: Frag }[]>();
  for (const r of rights) {
    const t = spec.time(r);
    if (t === undefined) continue;
    const key = r.api ?? "";
    const list = raw.get(key);
    if (list) list.push({ t, r });
    else raw.set(key, [{ t, r }]);
  }
  const out = new Map<string, TimedBucket>();
  for (const [key, list] of raw) {
    list.sort((a, b) => a.t - b.t);
    out.set(key, { times: list.map((x) => x.t), frags: list.map((x) => x.r) });
  }
  return out;
}

/** Candidates kept per call in a window join (an hour-long upload window can hold hundreds). */
const MAX_CANDIDATES = 32;

function windowJoin(lefts: readonly Frag[], rights: readonly Frag[], spec: JoinSpec): Pair[] {
  const buckets = bucketRights(rights, spec);
  const all = [...buckets.values()];
  const unknownApi = buckets.get("");
  const candidates = new Map<Frag, Frag[]>();
  const ranges = new Map<Frag, readonly [Ms, Ms]>();
  for (const l of lefts) {
    const range = spec.range(l);
    if (!range) continue;
    ranges.set(l, range);
    let best = 0;
    let list: Frag[] = [];
    const scan =
      l.api === undefined
        ? all
        : [buckets.get(l.api), unknownApi].filter((b): b is TimedBucket => b !== undefined);
    const [single] = scan;
    if (scan.length === 1 && single) {
      // One bucket: only the last MAX_CANDIDATES of the best grade are kept, so the search walks
      // back from the window's end and stops once it holds that many of the best grade possible.
      const top = GRADE_RANK.get(spec.bestGrade ?? "same") ?? 0;
      const lo = lowerBound(single.times, range[0]);
      const reversed: Frag[] = [];
      for (let i = upperBound(single.times, range[1]) - 1; i >= lo; i--) {
        const r = single.frags[i];
        if (r === undefined) continue;
        const g = spec.grade(l, r);
        if (g === false || g === "different") continue;
        const rank = GRADE_RANK.get(g) ?? 0;
        if (rank > best) {
          best = rank;
          reversed.length = 0;
          reversed.push(r);
        } else if (rank === best && reversed.length < MAX_CANDIDATES) reversed.push(r);
        if (best >= top && reversed.length >= MAX_CANDIDATES) break;
      }
      if (reversed.length) candidates.set(l, reversed.reverse());
      continue;
    }
    for (const bucket of scan) {
      for (let i = lowerBound(bucket.times, range[0]); i < bucket.times.length; i++) {
        const t = bucket.times[i];
        const r = bucket.frags[i];
        if (t === undefined || r === undefined || t > range[1]) break;
        const g = spec.grade(l, r);
        if (g === false || g === "different") continue;
        const rank = GRADE_RANK.get(g) ?? 0;
        if (rank > best) {
          best = rank;
          list = [r];
        } else if (rank === best) list.push(r);
      }
    }
    if (list.length) {
      if (scan.length > 1) list.sort(fragOrder);
      // beyond this many the pairing says nothing anyway: keep those nearest the window's end
      candidates.set(l, list.length > MAX_CANDIDATES ? list.slice(-MAX_CANDIDATES) : list);
    }
  }
  // connected components over the candidate edges (union-find, path halving, union by size)
  const parent = new Map<Frag, Frag>();
  const size = new Map<Frag, number>();
  const find = (f: Frag): Frag => {
    let x = f;
    for (;;) {
      const p = parent.get(x) ?? x;
      if (p === x) return x;
      const gp = parent.get(p) ?? p;
      parent.set(x, gp);
      x = gp;
    }
  };
  const union = (a: Frag, b: Frag): void => {
    let ra = find(a);
    let rb = find(b);
    if (ra === rb) return;
    if ((size.get(ra) ?? 1) < (size.get(rb) ?? 1)) [ra, rb] = [rb, ra];
    parent.set(rb, ra);
    size.set(ra, (size.get(ra) ?? 1) + (size.get(rb) ?? 1));
  };
  for (const [l, list] of candidates) for (const r of list) union(l, r);
  const components = new Map<Frag, { ls: Frag[]; rs: Set<Frag> }>();
  for (const [l, list] of candidates) {
    const root = find(l);
    const c = components.get(root) ?? { ls: [], rs: new Set<Frag>() };
    c.ls.push(l);
    for (const r of list) c.rs.add(r);
    components.set(root, c);
  }
  const pairs: Pair[] = [];
  for (const { ls, rs } of components.values()) {
    const [only] = ls;
    const [onlyR] = rs;
    if (ls.length === 1 && rs.size === 1 && only && onlyR) {
      pairs.push({ l: only, r: onlyR, alternatives: undefined, balanced: true });
      continue;
    }
    // earliest deadline first: the optimal greedy for matching intervals to points
    const sorted = [...ls].sort(
      (a, b) => (ranges.get(a)?.[1] ?? 0) - (ranges.get(b)?.[1] ?? 0) || fragOrder(a, b),
    );
    const taken = new Set<Frag>();
    const balanced = ls.length === rs.size;
    for (const l of sorted) {
      const list = candidates.get(l) ?? [];
      const r = list.find((x) => !taken.has(x));
      if (!r) continue;
      taken.add(r);
      pairs.push({ l, r, alternatives: list, balanced });
    }
  }
  return pairs;
}

/** First index whose value is greater than `value`. */
function upperBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] ?? 0) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] ?? 0) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const fragTime = (f: Frag): Ms =>
  f.start ?? f.event ?? f.done ?? f.vcTime ?? f.items[0]?.t ?? Number.POSITIVE_INFINITY;

const COLLATOR = new Intl.Collator();

/**
 * `a.localeCompare(b)` of two `orderKey`s, faster: keys of one input and member differ only in
 * their zero-padded line numbers, which collate as they compare (digits of one length). Other
 * pairs go through the collator `localeCompare` uses (ECMA-402: the same comparison).
 */
function compareOrder(a: string, b: string): number {
  if (a === b) return 0;
  const cut = a.lastIndexOf("\u0000");
  if (
    cut > 0 &&
    a.length === b.length &&
    b.charCodeAt(cut) === 0 &&
    b.startsWith(a.slice(0, cut))
  ) {
    return a < b ? -1 : 1;
  }
  return COLLATOR.compare(a, b);
}

const fragOrder = (a: Frag, b: Frag): number =>
  fragTime(a) - fragTime(b) || compareOrder(a.items[0]?.order ?? "", b.items[0]?.order ?? "");

/* ------------------------------------------------------------------------------------------------
 * The passes
 * ---------------------------------------------------------------------------------------------- */

class Joiner {
  readonly #w: JoinWindows;
  readonly #sessions: SessionIndex;
  readonly unattached: UnattachedObservation[] = [];
  duplicates = 0;

  constructor(windows: JoinWindows, sessions: SessionIndex) {
    this.#w = windows;
    this.#sessions = sessions;
  }

  run(items: Item[]): Frag[] {
    for (const item of items) item.order = orderKey(item.obs);
    items.sort(
      (a, b) =>
        (a.t ?? Number.POSITIVE_INFINITY) - (b.t ?? Number.POSITIVE_INFINITY) ||
        compareOrder(a.order, b.order),
    );
    let frags = this.#dedupe(items);
    frags = this.#pairVmx(frags);
    frags = this.#pairLro(frags);
    frags = this.#joinByOpId(frags);
    frags = this.#joinHostdEvents(frags);
    frags = this.#joinAudit(frags);
    frags = this.#attach(frags);
    frags = this.#joinLroToHost(frags);
    frags = this.#joinVcenterEvents(frags);
    frags = this.#joinLroByTime(frags);
    frags = this.#joinVcenterEventsToLro(frags);
    propagateVmInputs(frags);
    assignInputHosts(frags);
    return frags;
  }

  /** Copies of one record (a vCenter event from the stream and from an export, a file read twice). */
  #dedupe(items: Item[]): Frag[] {
    const frags: Frag[] = [];
    const byKey = new Map<string, Frag[]>();
    for (const item of items) {
      const key = dedupeKey(item);
      if (key !== undefined) {
        const existing = (byKey.get(key) ?? []).find((f) => {
          const first = f.items[0];
          if (!first) return false;
          const closeInTime =
            first.t === undefined || item.t === undefined
              ? first.t === item.t
              : Math.abs(first.t - item.t) <= this.#w.duplicate;
          return (
            closeInTime &&
            (first.host === undefined || item.host === undefined || first.host === item.host) &&
            (first.vcenter === undefined ||
              item.vcenter === undefined ||
              first.vcenter === item.vcenter)
          );
        });
        if (existing) {
          // a copy with other text (the export of a streamed event) is kept as evidence, a few
          // at most; an identical line, or one copy too many, is only counted
          const raw = item.obs.prov.raw;
          const kept =
            existing.items.length <= MAX_KEPT_COPIES &&
            !existing.items.some((i) => i.obs.prov.raw === raw);
          if (kept) existing.items.push(item);
          existing.unlisted += kept ? item.copies : 1 + item.copies;
          existing.copies += 1 + item.copies;
          this.duplicates++;
          existing.host ??= item.host;
          existing.vcenter ??= item.vcenter;
          existing.vm = mergeVmFacts(existing.vm, item.vm);
          existing.api ??= item.api;
          continue;
        }
      }
      const frag = newFrag(item);
      frags.push(frag);
      if (key !== undefined) {
        const list = byKey.get(key);
        if (list) list.push(frag);
        else byKey.set(key, [frag]);
      }
    }
    return frags;
  }

  /** vmware.log: a request and its response share (input, opID, seq). */
  #pairVmx(frags: Frag[]): Frag[] {
    const requests = new Map<string, Frag>();
    const out: Frag[] = [];
    for (const f of frags) {
      const item = f.items[0];
      if (item?.slot === "vmx.request" && item.obs.seq !== undefined) {
        requests.set(`${item.vmInput}\u0000${item.opId}\u0000${item.obs.seq}`, f);
      }
    }
    for (const f of frags) {
      const item = f.items[0];
      if (item?.slot === "vmx.response" && item.obs.seq !== undefined) {
        const req = requests.get(`${item.vmInput}\u0000${item.opId}\u0000${item.obs.seq}`);
        if (req && !req.slots.has("vmx.response") && apisCompatible(req.api, f.api)) {
          merge(req, f);
          continue;
        }
      }
      out.push(f);
    }
    return out;
  }

  /**
   * vpxd.log: BEGIN, FINISH and (for a failed call) ERROR of one LRO share its key (`lro-123`) in
   * one vCenter log. An ERROR without its BEGIN stands in for it.
   */
  #pairLro(frags: Frag[]): Frag[] {
    const begins = new Map<string, Frag>();
    const keyOf = (item: Item): string =>
      `${item.vcenter ?? sourceKey(item.obs)}\u0000${item.obs.eventKey}`;
    const isError = (item: Item | undefined): boolean => item?.obs.kind === "vpxd.lro-error";
    for (const pass of [false, true]) {
      for (const f of frags) {
        const item = f.items[0];
        if (item?.slot !== "vpxd.lro" || !item.obs.eventKey || isError(item) !== pass) continue;
        if (!begins.has(keyOf(item))) begins.set(keyOf(item), f);
      }
    }
    const out: Frag[] = [];
    for (const f of frags) {
      const item = f.items[0];
      const end = item?.slot === "vpxd.lro-end";
      if (item && (end || isError(item)) && item.obs.eventKey) {
        const begin = begins.get(keyOf(item));
        const taken = end ? begin?.slots.has("vpxd.lro-end") : begin?.items.some(isError);
        if (begin && begin !== f && !taken) {
          merge(begin, f);
          continue;
        }
      }
      out.push(f);
    }
    return out;
  }

  /** Host-side records of one opID are one call (vmware.log request, hostd state/request lines). */
  #joinByOpId(frags: Frag[]): Frag[] {
    const groups = new Map<string, Frag[]>();
    const out: Frag[] = [];
    for (const f of frags) {
      const [opId] = f.opIds;
      if (opId === undefined || f.opIds.size !== 1) {
        out.push(f);
        continue;
      }
      const list = groups.get(opId) ?? [];
      list.push(f);
      groups.set(opId, list);
    }
    for (const list of groups.values()) {
      const clusters: Frag[] = [];
      for (const f of list) {
        const fits = clusters.filter(
          (c) =>
            slotsFree(c, f) &&
            hostsOk(c, f) &&
            apisCompatible(c.api, f.api) &&
            vmRelation(c, f) !== "different" &&
            Math.abs(fragTime(c) - fragTime(f)) <= this.#w.sameOpId,
        );
        if (fits.length === 0) {
          clusters.push(f);
          continue;
        }
        const nearest = fits.reduce((a, b) =>
          Math.abs(fragTime(a) - fragTime(f)) <= Math.abs(fragTime(b) - fragTime(f)) ? a : b,
        );
        if (fits.length > 1) {
          // one opID is one client call chain: whichever call this is, its account is the same
          for (const slot of f.slots)
            nearest.alternatives.set(slot, { items: f.items, balanced: true });
          nearest.notes.push(
            `opID ${f.items[0]?.opId ?? ""} fits ${fits.length} calls; joined to the nearest in time`,
          );
        }
        merge(nearest, f);
      }
      for (const c of clusters) out.push(c);
    }
    return out;
  }

  /** hostd `Event N : Guest operation … performed` lines, logged when the call completes. */
  #joinHostdEvents(frags: Frag[]): Frag[] {
    const w = this.#w;
    const isEventOnly = (f: Frag): boolean =>
      f.slots.has("hostd.event") &&
      !f.slots.has("vmx.request") &&
      !f.slots.has("hostd.state") &&
      !f.slots.has("hostd.request") &&
      !f.slots.has("vmx.response");
    const rights = frags.filter(isEventOnly);
    const lefts = frags.filter(
      (f) =>
        !f.slots.has("hostd.event") &&
        (f.slots.has("vmx.request") ||
          f.slots.has("hostd.state") ||
          f.slots.has("hostd.request") ||
          f.slots.has("vmx.response")),
    );
    return this.#join(frags, lefts, rights, {
      slot: "hostd.event",
      range: (l) => {
        const start = l.start ?? l.done;
        if (start === undefined) return undefined;
        const lo = start - w.eventBeforeStart;
        if (l.api === "InitiateFileTransferToGuest") return [lo, start + w.uploadDuration];
        if (l.done !== undefined && l.slots.has("vmx.response")) {
          return [lo, l.done + w.eventAfterCompletion];
        }
        return [lo, start + w.eventAfterStart];
      },
      time: (r) => r.event,
      grade: (l, r) =>
        hostsOk(l, r) && apisCompatible(l.api, r.api) && slotsFree(l, r) ? vmRelation(l, r) : false,
    });
  }

  /** ESXi audit `api.call` records without an opID: same host, same method, close in time. */
  #joinAudit(frags: Frag[]): Frag[] {
    const w = this.#w;
    const rights = frags.filter((f) => f.slots.size === 1 && f.slots.has("audit"));
    const lefts = frags.filter((f) => !f.slots.has("audit") && hasHostSide(f));
    return this.#join(frags, lefts, rights, {
      slot: "audit",
      range: (l) => {
        const start = l.start ?? l.event ?? l.done;
        if (start === undefined) return undefined;
        return [start - w.audit, (l.done ?? start) + w.audit];
      },
      time: (r) => r.start,
      grade: (l, r) =>
        hostsOk(l, r) && l.api !== undefined && l.api === r.api && slotsFree(l, r)
          ? vmRelation(l, r)
          : false,
    });
  }

  /**
   * Guest file paths and Solo.Vmomi dumps name no call: each goes to the one call it can belong
   * to, or, when several fit equally, to none (kept as unattached evidence).
   */
  #attach(frags: Frag[]): Frag[] {
    const w = this.#w;
    const isLoose = (f: Frag): boolean =>
      f.slots.size === 1 &&
      (f.slots.has("file-path") || f.slots.has("args") || f.slots.has("fault"));
    const loose = frags.filter(isLoose).sort(fragOrder);
    const calls = frags.filter((f) => !isLoose(f) && hasHostSide(f));
    const consumed = new Set<Frag>();
    const byTime = [...calls].sort((a, b) => refTime(a) - refTime(b));
    const times = byTime.map(refTime);
    for (const piece of loose) {
      const item = piece.items[0];
      if (!item || item.t === undefined) {
        if (item) this.unattached.push({ observation: item.obs, reason: "no time to place it" });
        consumed.add(piece);
        continue;
      }
      const t = item.t;
      const isPath = item.slot === "file-path";
      const lo = t - (isPath ? w.filePathAfterEvent : w.dumpAfterStart);
      const hi = t + (isPath ? 1_000 : 5);
      const fits: Frag[] = [];
      for (let i = lowerBound(times, lo); i < byTime.length; i++) {
        const call = byTime[i];
        if (!call || refTime(call) > hi) break;
        if (!hostsOk(call, piece)) continue;
        if (piece.scope && call.scope && piece.scope !== call.scope && !piece.host) {
          // a local hostd.log names no host: its pieces belong to calls of the same input or host
          if (call.scope.startsWith("input:")) continue;
        }
        if (isPath) {
          if (call.slots.has("file-path")) continue;
          if (call.api && !methodByApi(call.api)?.transfer) continue;
          if (!call.api && !call.slots.has("hostd.event")) continue;
        } else {
          if (!apisCompatible(call.api, piece.api)) continue;
          if (item.slot === "fault" && call.slots.has("fault")) continue;
        }
        fits.push(call);
      }
      const ref = (f: Frag): Ms => (isPath ? refTime(f) : (f.start ?? refTime(f)));
      let chosen: Frag | undefined;
      if (fits.length === 1) chosen = fits[0];
      else if (fits.length > 1) {
        // the latest call before the piece wins only when it is clearly the nearest
        const sorted = [...fits].sort((a, b) => Math.abs(t - ref(a)) - Math.abs(t - ref(b)));
        const [first, second] = sorted;
        if (
          first &&
          second &&
          Math.abs(t - ref(first)) <= 1_000 &&
          Math.abs(t - ref(second)) > 5_000
        ) {
          chosen = first;
        }
      }
      consumed.add(piece);
      if (chosen) merge(chosen, piece);
      else {
        this.unattached.push({
          observation: item.obs,
          reason:
            fits.length === 0
              ? `no ${isPath ? "file transfer" : "guest operation"} on this host fits in time`
              : `${fits.length} operations fit; none is chosen`,
        });
      }
    }
    return frags.filter((f) => !consumed.has(f));
  }

  /** vpxd LRO (vCenter opID) ↔ host-side call whose opID extends it with hop suffixes. */
  #joinLroToHost(frags: Frag[]): Frag[] {
    const w = this.#w;
    const byPrefix = new Map<string, Frag[]>();
    const hostCalls = frags.filter((f) => !f.slots.has("vpxd.lro") && hasHostSide(f));
    for (const f of hostCalls) {
      for (const opId of f.opIds) {
        for (const prefix of opIdPrefixes(opId)) {
          const list = byPrefix.get(prefix) ?? [];
          if (!list.includes(f)) list.push(f);
          byPrefix.set(prefix, list);
        }
      }
    }
    const lros = frags.filter((f) => f.slots.has("vpxd.lro") && f.vcOpIds.size > 0);
    const candidates = new Map<Frag, Frag[]>();
    for (const lro of lros) {
      const fits: Frag[] = [];
      for (const opId of lro.vcOpIds) {
        for (const call of byPrefix.get(opId) ?? []) {
          if (fits.includes(call)) continue;
          if (![...call.opIds].some((h) => opIdBelongsTo(h, opId))) continue;
          if (!apisCompatible(lro.api, call.api)) continue;
          const a = lro.start ?? lro.done;
          const b = fragTime(call);
          if (a !== undefined && Number.isFinite(b) && Math.abs(a - b) > w.lroToHost) continue;
          fits.push(call);
        }
      }
      if (fits.length) candidates.set(lro, fits);
    }
    const taken = new Set<Frag>();
    const consumed = new Set<Frag>();
    const sortedLros = [...candidates.keys()].sort(fragOrder);
    for (const lro of sortedLros) {
      const fits = (candidates.get(lro) ?? []).filter((c) => !taken.has(c)).sort(fragOrder);
      const [call] = fits;
      if (!call) continue;
      taken.add(call);
      if (fits.length > 1) {
        call.notes.push(
          `vpxd opID family fits ${fits.length} host-side calls; paired in time order`,
        );
        call.alternatives.set("vpxd.lro", { items: lro.items, balanced: true });
      }
      merge(call, lro);
      consumed.add(lro);
    }
    return frags.filter((f) => !consumed.has(f));
  }

  /** vCenter events (the principal's name) ↔ the host-side call they report: host, VM, method, time. */
  #joinVcenterEvents(frags: Frag[]): Frag[] {
    const w = this.#w;
    const rights = frags.filter(isVcEventOnly);
    const lefts = frags.filter((f) => !f.slots.has("vc.event") && hasHostSide(f));
    return this.#join(frags, lefts, rights, {
      slot: "vc.event",
      range: (l) => hostSideSpan(l, w.vcenterSkew),
      time: (r) => r.vcTime,
      grade: (l, r) =>
        hostsOk(l, r) && vcentersOk(l, r) && apisCompatible(l.api, r.api) && slotsFree(l, r)
          ? vmRelation(l, r)
          : false,
    });
  }

  /**
   * vpxd LROs whose opID reached no host-side record (ESXi 8 hostd event lines carry none) ↔
   * host-side calls, by method and time. A call that already has a vCenter event is placed on
   * vCenter's own clock: the LRO ends before the event is created.
   */
  #joinLroByTime(frags: Frag[]): Frag[] {
    const w = this.#w;
    const isLroOnly = (f: Frag): boolean =>
      f.slots.has("vpxd.lro") && !(hasHostSide(f) || f.slots.has("vc.event"));
    const rights = frags.filter(isLroOnly);
    const lefts = frags.filter((f) => !f.slots.has("vpxd.lro") && hasHostSide(f));
    return this.#join(frags, lefts, rights, {
      slot: "vpxd.lro",
      range: (l) => {
        if (l.vcTime !== undefined) {
          const upload = l.api === "InitiateFileTransferToGuest" ? w.uploadDuration : 0;
          return [l.vcTime - w.eventDelivery - upload, l.vcTime + w.duplicate];
        }
        return hostSideSpan(l, w.vcenterSkew);
      },
      time: (r) => r.done ?? r.start,
      grade: (l, r) =>
        vcentersOk(l, r) && apisCompatible(l.api, r.api) && slotsFree(l, r) ? "unknown" : false,
      bestGrade: "unknown",
    });
  }

  /** vCenter events left over ↔ vpxd LROs without a host-side record (vCenter-only data). */
  #joinVcenterEventsToLro(frags: Frag[]): Frag[] {
    const w = this.#w;
    const rights = frags.filter(isVcEventOnly);
    const lefts = frags.filter(
      (f) => f.slots.has("vpxd.lro") && !f.slots.has("vc.event") && !hasHostSide(f),
    );
    return this.#join(frags, lefts, rights, {
      slot: "vc.event",
      range: (l) => {
        const start = l.start ?? l.done;
        if (start === undefined) return undefined;
        const upload = l.api === "InitiateFileTransferToGuest" ? w.uploadDuration : 0;
        return [start - w.duplicate, (l.done ?? start) + w.eventDelivery + upload];
      },
      time: (r) => r.vcTime,
      grade: (l, r) =>
        vcentersOk(l, r) && apisCompatible(l.api, r.api) && slotsFree(l, r) ? "unknown" : false,
      bestGrade: "unknown",
    });
  }

  /** `windowJoin` of `lefts` and `rights`, its pairs merged into `frags` (see `#applyPairs`). */
  #join(frags: Frag[], lefts: readonly Frag[], rights: readonly Frag[], spec: JoinSpec): Frag[] {
    return this.#applyPairs(frags, windowJoin(lefts, rights, spec), spec.slot);
  }

  #applyPairs(frags: Frag[], pairs: readonly Pair[], slot: Slot): Frag[] {
    const consumed = new Set<Frag>();
    for (const { l, r, alternatives, balanced } of pairs) {
      // a crowded group (several calls or records) is a pairing, even for a call with one candidate
      if (alternatives) {
        l.alternatives.set(slot, {
          items: alternatives.flatMap((f) => f.items.filter((i) => i.slot === slot)),
          balanced,
          crowded: true,
        });
        l.notes.push(
          `${slot} record paired in time order: ${alternatives.length} fitted${balanced ? "" : " (more calls than records nearby)"}`,
        );
      }
      merge(l, r);
      consumed.add(r);
    }
    return frags.filter((f) => !consumed.has(f));
  }

  get sessions(): SessionIndex {
    return this.#sessions;
  }
}

/**
 * One vmware.log is one VM on one host: what a join taught about some of its calls (host, VM
 * name) holds for the others, when the joined calls agree.
 */
function propagateVmInputs(frags: readonly Frag[]): void {
  const learned = new Map<
    string,
    { hosts: Set<string>; scopes: Set<string>; names: Set<string> }
  >();
  for (const f of frags) {
    for (const input of f.vmInputs) {
      const entry = learned.get(input) ?? { hosts: new Set(), scopes: new Set(), names: new Set() };
      if (f.host) entry.hosts.add(f.host);
      if (f.scope) entry.scopes.add(f.scope);
      for (const n of f.vm.names) entry.names.add(n);
      learned.set(input, entry);
    }
  }
  for (const f of frags) {
    if (f.vmInputs.size !== 1) continue;
    const [input] = f.vmInputs;
    const entry = input === undefined ? undefined : learned.get(input);
    if (!entry) continue;
    const [host] = entry.hosts;
    const [scope] = entry.scopes;
    const [name] = entry.names;
    if (!f.host && entry.hosts.size === 1 && host) f.host = host;
    if (!f.scope && entry.scopes.size === 1 && scope) f.scope = scope;
    if (f.vm.names.length === 0 && entry.names.size === 1 && name)
      f.vm = { ...f.vm, names: [name] };
  }
}

/**
 * Host identity for inputs whose lines name no host (ESXi 8 local hostd.log, vmware.log) and to
 * which no `--input-host` or bundle name gave one: a directory of the input's path that names a
 * host other records of the run name (`esx01/hostd.log` when vCenter events name
 * `esx01.corp.example`), else the one host the input's joined operations (a vCenter event, a
 * vmware.log with a host) name. Joins are done: only the host the operations report changes.
 */
function assignInputHosts(frags: readonly Frag[]): void {
  const known = new Set<string>();
  for (const f of frags) for (const i of f.items) if (i.host) known.add(i.host);
  const inputs = new Map<string, { fromPath: string | undefined; joined: Set<string> }>();
  for (const f of frags) {
    for (const i of f.items) {
      if (i.host || VCENTER_SLOTS.has(i.slot)) continue;
      const key = sourceKey(i.obs);
      let entry = inputs.get(key);
      if (!entry) {
        // a hint the input got after its records were read (a bundle's host-name file) comes first
        const late = i.obs.prov.source.hostHint;
        const fromHint = late ? hostKey(late) || undefined : undefined;
        entry = {
          fromPath: fromHint ?? hostFromPath(i.obs.prov.source, known),
          joined: new Set(),
        };
        inputs.set(key, entry);
      }
      if (f.host && entry.joined.size < 4) entry.joined.add(f.host);
    }
  }
  if (inputs.size === 0) return;
  for (const f of frags) {
    if (f.host) continue;
    const found = new Set<string>();
    for (const i of f.items) {
      const entry = i.host ? undefined : inputs.get(sourceKey(i.obs));
      if (!entry) continue;
      const [only] = entry.joined;
      const host = entry.fromPath ?? (entry.joined.size === 1 ? only : undefined);
      if (host) found.add(host);
    }
    const [host] = found;
    if (found.size === 1 && host) f.host = host;
  }
}

/** The host key a directory of the input's path names, when other records name that host. */
function hostFromPath(
  src: Observation["prov"]["source"],
  known: ReadonlySet<string>,
): string | undefined {
  const parts = `${src.path}${src.member ? `/${src.member}` : ""}`.split(/[/\\!]/);
  parts.pop(); // the file's own name
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i];
    if (!part || part === "." || part === "..") continue;
    const key = hostKey(part);
    if (key && known.has(key)) return key;
  }
  return undefined;
}

const isVcEventOnly = (f: Frag): boolean => f.slots.size === 1 && f.slots.has("vc.event");

/** The time a loose piece is placed against: the hostd event, else completion, else start. */
const refTime = (f: Frag): Ms => f.event ?? f.done ?? f.start ?? Number.POSITIVE_INFINITY;

/** Key of records that are copies of one another; undefined when a kind has no such key. */
function dedupeKey(item: Item): string | undefined {
  const o = item.obs;
  switch (item.slot) {
    case "vc.event":
      return o.eventKey ? `vc\u0000${o.eventKey}` : undefined;
    case "hostd.event":
      return o.eventKey ? `he\u0000${o.eventKey}\u0000${o.time ?? ""}` : undefined;
    case "vmx.request":
    case "vmx.response":
      return o.seq !== undefined
        ? `${item.slot}\u0000${o.opId ?? ""}\u0000${o.seq}\u0000${o.time ?? ""}`
        : undefined;
    case "burst":
      return o.eventKey ? `burst\u0000${o.eventKey}` : undefined;
    case "vpxd.lro":
    case "vpxd.lro-end":
      return o.eventKey ? `${o.kind}\u0000${o.eventKey}\u0000${o.opId ?? ""}` : undefined;
    case "hostd.state":
    case "hostd.request":
    case "args":
    case "fault":
    case "file-path":
    case "audit":
      return `${item.slot}\u0000${o.time ?? ""}\u0000${o.opId ?? ""}\u0000${o.prov.raw.slice(-200)}`;
  }
}

/* ------------------------------------------------------------------------------------------------
 * From fragments to operations: attribution, origin, outcome, guest detail
 * ---------------------------------------------------------------------------------------------- */

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

const uniqueById = (list: readonly Principal[]): Principal[] => {
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
function spanOf(frag: Frag): readonly [Ms, Ms] | undefined {
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

type SessionBooks = Map<string, SessionBook>;

/** A record of the call names an end user: no chain ever changes such an operation. */
const isFinal = (op: Operation): boolean =>
  op.attribution.level === "exact" &&
  op.attribution.principal !== undefined &&
  namesEndUser(op.attribution.principal);

/** The operation could take an account from a session chain (its own or its LRO candidates'). */
const chainable = (frag: Frag, op: Operation): boolean =>
  !op.hidden && !isFinal(op) && (lroPairedOf(frag) || sessionRefs(frag).length > 0);

function copyBooks(books: SessionBooks): SessionBooks {
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
function recordSessions(
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
function pruneBooks(books: SessionBooks, before: Ms): void {
  for (const [id, b] of books) {
    b.timed = b.timed.filter((s) => (s.span?.[1] ?? before) >= before);
    b.starts = b.timed.map((s) => s.span?.[0] ?? 0);
    b.longest = b.timed.reduce((n, s) => Math.max(n, (s.span?.[1] ?? 0) - (s.span?.[0] ?? 0)), 0);
    if (b.timed.length === 0 && b.untimed.length === 0) books.delete(id);
  }
}

interface SessionChain {
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

interface Built {
  readonly attribution: Attribution;
  readonly origin: Origin;
  readonly sessions: SessionRecord[];
  readonly notes: string[];
}

function attributeFrag(
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
    const principal = normaliseAccount(raw);
    if (principal.kind === "unknown") continue;
    const claim: Claim = { principal, evidence: { obs: item.obs }, what: describeObs(item.obs) };
    const alts = frag.alternatives.get(item.slot);
    if (isCrowd(alts) && alts.items.includes(item)) {
      const principals = alts.items.map((a) =>
        a.obs.user?.trim() ? normaliseAccount(a.obs.user) : undefined,
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
    const key = item.obs.session;
    if (!key) return { claims, session: undefined };
    const vcSide = VCENTER_SLOTS.has(item.slot);
    let found: Session[] = [];
    if (vcSide) {
      // a vCenter session key is scoped to its vCenter: a vpxd.log that names none may hold it,
      // another vCenter's never
      const own = item.vcenter
        ? index.byKey(`vc:${item.vcenter}`, key, "vcenter")
        : index.byKey(inputScope(item.obs.prov.source), key, "vcenter");
      found = own
        ? [own]
        : index
            .byKeyAnyScope(key, "vcenter")
            .filter((x) => !item.vcenter || x.scope.startsWith("input:"));
    } else if (item.scope) {
      const s = index.byKey(item.scope, key, "host");
      if (s) found = [s];
    }
    const [s] = found;
    if (found.length !== 1 || !s?.principal || s.principal.kind === "unknown") {
      return { claims, session: undefined };
    }
    const record = s.records[0];
    claims.push({
      principal: s.principal,
      evidence: record ? { session: record } : {},
      what: `${vcSide ? "vCenter" : "hostd"} session ${s.key ?? ""}`,
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

function outcomeOf(observations: readonly Observation[]): Outcome {
  if (
    observations.some(
      (o) => o.kind === "hostd.fault" || o.kind === "vc.auth-failure" || o.outcome === "failure",
    )
  ) {
    return "failure";
  }
  if (
    observations.some(
      (o) => o.outcome === "success" || o.kind === "hostd.event" || o.kind === "vc.event",
    )
  ) {
    return "success";
  }
  return "unknown";
}

function guestOf(observations: readonly Observation[]): Observation["guest"] | undefined {
  const fields = ["path", "program", "arguments", "workingDirectory", "username"] as const;
  const out: Partial<Record<(typeof fields)[number], string>> = {};
  for (const field of fields) {
    for (const o of observations) {
      const value = o.guest?.[field];
      if (value !== undefined) {
        out[field] = value;
        break;
      }
    }
  }
  return Object.keys(out).length ? out : undefined;
}

function vmOf(frag: Frag, observations: readonly Observation[]): Operation["vm"] {
  let name: string | undefined;
  let vmx: string | undefined;
  let moref: string | undefined;
  let dir: string | undefined;
  for (const o of observations) {
    if (o.kind !== "vmx.request" && o.kind !== "vmx.response") name ??= o.vm?.name;
  }
  name ??= frag.vm.names[0];
  for (const o of observations) {
    name ??= o.vm?.name;
    vmx ??= o.vm?.vmx;
    if (o.kind === "vc.event" || o.kind === "vc.auth-failure" || o.kind === "vc.burst")
      moref ??= o.vm?.moref;
    dir ??= o.vm?.dir;
  }
  if (!moref) for (const o of observations) moref ??= o.vm?.moref;
  if (!dir && vmx) dir = vmx.slice(0, vmx.lastIndexOf("/")) || undefined;
  if (!dir) {
    for (const item of frag.items) {
      if (item.vmInput) {
        const path = item.obs.prov.source.member ?? item.obs.prov.source.path;
        const m = /^(.*\/vmfs\/volumes\/[^/]+\/[^/]+)\/vmware(?:-\d+)?\.log(?:\.gz)?$/.exec(path);
        if (m?.[1]) {
          dir = m[1].replace(/^.*?(\/vmfs\/)/, "$1");
          break;
        }
      }
    }
  }
  return {
    ...(name ? { name } : {}),
    ...(vmx ? { vmx } : {}),
    ...(moref ? { moref } : {}),
    ...(dir ? { dir } : {}),
  };
}

/** The host name a record gives for its item's host key, as written. */
function hostNameOf(item: Item): string | undefined {
  if (!item.host) return undefined;
  const o = item.obs;
  const raw = VCENTER_SLOTS.has(item.slot) ? o.host : (o.host ?? o.prov.source.hostHint);
  const name = raw?.trim();
  return name && hostKey(name) === item.host ? name : undefined;
}

const isQualified = (name: string): boolean => name.includes(".") && !/^\d/.test(name);

/** Every spelling of each host key seen in the run (`esx01` → esx01, esx01.corp.example). */
type HostNames = Map<string, Set<string>>;

function learnHostNames(frags: readonly Frag[], names: HostNames): void {
  for (const f of frags) {
    for (const item of f.items) {
      // a host hint the input got late (assignInputHosts) is a spelling of the fragment's host
      const late = item.host ? undefined : item.obs.prov.source.hostHint?.trim();
      const key = item.host ?? (late && hostKey(late) === f.host ? f.host : undefined);
      const name = item.host ? hostNameOf(item) : late;
      if (!name || !key) continue;
      const set = names.get(key);
      if (set) {
        if (set.size < 16) set.add(name);
      } else names.set(key, new Set([name]));
    }
  }
}

/**
 * The host as the sources write it, one spelling per host key in a run: a fully qualified name
 * seen for the key anywhere in the run (the first in sort order when several), else the
 * operation's own spelling.
 */
function hostDisplay(frag: Frag, hostNames: HostNames): string | undefined {
  if (!frag.host) return undefined;
  const seen = [...(hostNames.get(frag.host) ?? [])].sort();
  const own = frag.items.map(hostNameOf).filter((n): n is string => n !== undefined);
  return seen.find(isQualified) ?? own.find(isQualified) ?? own[0] ?? seen[0] ?? frag.host;
}

function vcenterDisplay(observations: readonly Observation[]): string | undefined {
  for (const o of observations) if (o.vcenter) return o.vcenter;
  return undefined;
}

const KIND_RANK: ReadonlyMap<ObservationKind, number> = new Map(
  (
    [
      "vpxd.lro",
      "hostd.request",
      "hostd.state",
      "vmx.request",
      "audit.api-call",
      "hostd.args",
      "hostd.fault",
      "vmx.response",
      "hostd.event",
      "hostd.file-path",
      "vpxd.lro-end",
      "vpxd.lro-error",
      "vc.event",
      "vc.auth-failure",
      "vc.burst",
    ] as const
  ).map((k, i) => [k, i]),
);

/**
 * The record an operation's id derives from, by content (`recordKey`): the earliest host-side
 * record (hostd, vmware.log, audit), else the earliest vCenter one, so that the same lines read
 * through another file give the same id, and vCenter evidence read later keeps it.
 */
function idAnchor(items: readonly Item[]): Item | undefined {
  let best: Item | undefined;
  let bestRank = 0;
  let bestKey = "";
  for (const item of items) {
    const rank = VCENTER_SLOTS.has(item.slot) ? 1 : 0;
    const t = item.t ?? Number.POSITIVE_INFINITY;
    const key = recordKey(item.obs);
    const bt = best?.t ?? Number.POSITIVE_INFINITY;
    if (
      !best ||
      rank < bestRank ||
      (rank === bestRank && (t < bt || (t === bt && key < bestKey)))
    ) {
      best = item;
      bestRank = rank;
      bestKey = key;
    }
  }
  return best;
}

interface BuildContext {
  readonly hostNames: HostNames;
}

/** What an operation is without its attribution: built once, whichever pass attributes it. */
interface Prepared {
  /** A burst record's operation, complete (no pass changes it). */
  readonly burst?: Operation;
  readonly observations: Observation[];
  /** The operation's members before `attribution`. */
  readonly head: Omit<Operation, "attribution" | "origin" | "observations">;
  /** Its members between `origin` and `observations`. */
  readonly middle: Partial<Pick<Operation, "opId" | "session" | "guest">>;
  /** `{ copies }` when identical copies were read and not listed. */
  readonly copies: Partial<Pick<Operation, "copies">>;
  readonly notes: readonly string[];
}

/** The prepared operation with an attribution (the members in the order they always had). */
function attributed(p: Prepared, built: Built): Operation {
  return {
    ...p.head,
    attribution: built.attribution,
    origin: built.origin,
    ...p.middle,
    observations: p.observations,
    ...p.copies,
    ...(built.sessions.length ? { sessions: built.sessions } : {}),
    ...(p.notes.length || built.notes.length ? { notes: [...p.notes, ...built.notes] } : {}),
  };
}

function prepareOperation(frag: Frag, ctx: BuildContext): Prepared {
  const items = [...frag.items].sort(
    (a, b) =>
      (a.t ?? Number.POSITIVE_INFINITY) - (b.t ?? Number.POSITIVE_INFINITY) ||
      (KIND_RANK.get(a.obs.kind) ?? 99) - (KIND_RANK.get(b.obs.kind) ?? 99) ||
      compareOrder(a.order, b.order),
  );
  const observations = items.map((i) => i.obs);
  const anchor = idAnchor(items);
  const id = createHash("sha256")
    .update(anchor ? recordKey(anchor.obs) : "")
    .digest("hex")
    .slice(0, 16);
  const span = spanOf(frag);
  const time = span ? new Date(span[0]).toISOString() : undefined;
  const end = span ? new Date(span[1]).toISOString() : undefined;
  const api = frag.api ?? "unknown";
  const info = methodByApi(api);
  const notes = [...new Set(frag.notes)];
  if (time === undefined) notes.push("no time: the source does not give one (redacted or missing)");
  const host = hostDisplay(frag, ctx.hostNames);
  const vcenter = vcenterDisplay(observations);
  // When and where: the same for a burst record and for a call.
  const placed = {
    id,
    time,
    ...(end && end !== time ? { end } : {}),
    ...(host ? { host } : {}),
    ...(vcenter ? { vcenter } : {}),
    vm: vmOf(frag, observations),
  };
  const copies = frag.unlisted > 0 ? { copies: frag.unlisted } : {};

  if (frag.slots.has("burst")) {
    const counts = observations.map((o) => o.count).filter((c): c is number => c !== undefined);
    const most = counts.reduce((m, c) => Math.max(m, c), 0);
    const phases = [...new Set(observations.map((o) => o.detail).filter((d): d is string => !!d))];
    const users = uniqueById(
      observations
        .flatMap((o) => (o.user?.trim() ? [normaliseAccount(o.user)] : []))
        .filter((p) => p.kind !== "unknown"),
    );
    const [p] = users;
    const attribution: Attribution =
      users.length === 1 && p
        ? {
            level: "exact",
            principal: p,
            reason: `the burst record names ${p.display}`,
            evidence: observations.map((_, i) => `obs:${i}`),
          }
        : users.length > 1
          ? {
              level: "ambiguous",
              candidates: users,
              reason: "burst records name several accounts",
              evidence: [],
            }
          : { level: "unknown", reason: "the burst record names no account", evidence: [] };
    const burst: Operation = {
      ...placed,
      api: "unknown",
      category: "unknown",
      outcome: "unknown",
      attribution,
      origin: { via: "vcenter" },
      observations,
      ...copies,
      hidden: {
        ...(counts.length ? { count: most } : {}),
        ...(phases.length ? { phase: phases.join(",") } : {}),
      },
      notes: [
        `operations hidden by vCenter's event burst filter${counts.length ? `: ${most}` : ""}`,
        ...notes,
      ],
    };
    return { burst, observations, head: burst, middle: {}, copies, notes };
  }

  // a vpxd LRO placed by time among several does not lend its opID or session to the call
  const lroAlts = frag.alternatives.get("vpxd.lro");
  const trusted = observations.filter((o) => !(isCrowd(lroAlts) && o.kind.startsWith("vpxd.lro")));
  const opId =
    [...frag.opIds][0] ??
    (trusted.some((o) => o.kind === "vpxd.lro" || o.kind === "vpxd.lro-error")
      ? [...frag.vcOpIds][0]
      : undefined);
  const opIdRaw = trusted.find((o) => o.opId && o.opId.toLowerCase() === opId)?.opId;
  const session = trusted.find((o) => o.session)?.session;
  const guest = guestOf(observations);
  return {
    observations,
    head: {
      ...placed,
      api,
      category: info?.category ?? "unknown",
      outcome: outcomeOf(observations),
    },
    middle: {
      ...(opIdRaw ? { opId: opIdRaw } : {}),
      ...(session ? { session } : {}),
      ...(guest ? { guest } : {}),
    },
    copies,
    notes,
  };
}

/** Burst records of one vCenter, VM and account close in time are one burst. */
function groupBursts(frags: Frag[]): Frag[] {
  const out: Frag[] = [];
  const bursts = frags.filter((f) => f.slots.has("burst")).sort(fragOrder);
  const open: Frag[] = [];
  for (const f of bursts) {
    const t = fragTime(f);
    const user = f.items[0]?.obs.user?.trim().toLowerCase() ?? "";
    const target = open.find((g) => {
      const gu = g.items[0]?.obs.user?.trim().toLowerCase() ?? "";
      const last = g.items.at(-1)?.t ?? fragTime(g);
      return (
        gu === user &&
        vcentersOk(g, f) &&
        compareVm(g.vm, f.vm) !== "different" &&
        Number.isFinite(t) &&
        t - last <= 30 * 60_000 &&
        !(g.items.at(-1)?.obs.detail === "ended")
      );
    });
    if (target) merge(target, f);
    else {
      open.push(f);
      out.push(f);
    }
  }
  return [...frags.filter((f) => !f.slots.has("burst")), ...out];
}

const operationOrder = (a: Operation, b: Operation): number => {
  const ta = a.time ?? "\uffff";
  const tb = b.time ?? "\uffff";
  return ta < tb ? -1 : ta > tb ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
};

/** The longest a record may lag behind another of the same call (live flushing). */
const longestWindow = (w: JoinWindows): Ms =>
  Math.max(w.uploadDuration, w.sameOpId, w.lroToHost, w.filePathAfterEvent, w.vcenterSkew) +
  w.vcenterSkew;

/** Latest record time of a fragment; undefined when a record has none (it waits for `finish`). */
function latestOf(f: Frag): Ms | undefined {
  let max: Ms | undefined;
  for (const i of f.items) {
    if (i.t === undefined) return undefined;
    max = max === undefined ? i.t : Math.max(max, i.t);
  }
  return max;
}

/**
 * What makes two observations one line read twice: kind, host (or input) and the exact text. A
 * digest keeps the key short whatever the line's length.
 */
function copyKey(item: Item): string {
  const o = item.obs;
  const at = item.host ?? item.scope ?? item.vmInput ?? item.vcenter ?? sourceKey(o);
  const digest = createHash("sha1").update(o.prov.raw).digest("base64");
  return `${o.kind}\u0000${at}\u0000${o.prov.rawEncoding ?? ""}\u0000${digest}`;
}

interface BuiltOperation {
  readonly frag: Frag;
  readonly op: Operation;
}

/** A correlator that accepts records in any order and joins them on `finish()`. */
export function createCorrelator(options: CorrelatorOptions = {}): Correlator {
  const windows: JoinWindows = { ...DEFAULT_WINDOWS, ...options.windows };
  let items: Item[] = [];
  let sessions = new SessionIndex();
  let read = 0;
  /** Live use: the exact operations already released, per session, for the session chain. */
  let released: SessionBooks = new Map();
  let hostNames: HostNames = new Map();
  /** The first of each record by its text, host (or input) and kind: later identical lines are counted on it. */
  let seen = new Map<string, Item>();
  let copies = 0;

  /**
   * Builds every fragment twice when needed: a first pass names the accounts the records of each
   * call give; the session chain then lends the exact operations' accounts to the other
   * operations of their sessions (docs/attribution.md, rule 3).
   */
  const build = (frags: Frag[]): BuiltOperation[] => {
    learnHostNames(frags, hostNames);
    const first = groupBursts(frags).map((frag) => {
      const prepared = prepareOperation(frag, { hostNames });
      const op =
        prepared.burst ??
        attributed(
          prepared,
          attributeFrag(frag, prepared.observations, sessions, windows, undefined),
        );
      return { frag, op, prepared };
    });
    const books = copyBooks(released);
    recordSessions(first, sessions, books);
    const chain: SessionChain = { books, window: windows.sessionChain };
    // the second pass changes only the attribution: what else the operation is stays as built
    return first.map(({ frag, op, prepared }) =>
      chainable(frag, op)
        ? {
            frag,
            op: attributed(
              prepared,
              attributeFrag(frag, prepared.observations, sessions, windows, chain),
            ),
          }
        : { frag, op },
    );
  };

  return {
    add(record) {
      if (record.type === "session") {
        sessions.add(record);
        return;
      }
      read++;
      const item = toItem(record);
      if (!item) return;
      if (VCENTER_SLOTS.has(item.slot)) sessions.noteVcenter(record.vcenter);
      const key = copyKey(item);
      const first = seen.get(key);
      if (first) {
        first.copies++;
        copies++;
        return;
      }
      seen.set(key, item);
      items.push(item);
    },
    flushBefore(time) {
      const now = typeof time === "number" ? time : Date.parse(time);
      const longest = longestWindow(windows);
      const cutoff = now - longest;
      const joiner = new Joiner(windows, sessions);
      const built = build(joiner.run([...items]));
      // An operation whose session may still show an exact operation within the session-chain
      // window (one not read yet, or one whose joins may still change) waits that long.
      const chainSettled = cutoff - windows.sessionChain - longest;
      const done = built.filter(({ frag, op }) => {
        const t = latestOf(frag);
        if (t === undefined || t >= cutoff) return false;
        return t < chainSettled || !chainable(frag, op);
      });
      recordSessions(done, sessions, released);
      pruneBooks(released, chainSettled - windows.sessionChain - longest);
      const doneItems = new Set<Item>(done.flatMap((b) => b.frag.items));
      const unattached = joiner.unattached.filter((u) => {
        const t = parseTime(u.observation.time);
        return t !== undefined && t < cutoff;
      });
      const goneObs = new Set<Observation>(unattached.map((u) => u.observation));
      const before = items.length;
      const kept: Item[] = [];
      for (const i of items) {
        if (doneItems.has(i) || goneObs.has(i.obs)) seen.delete(copyKey(i));
        else kept.push(i);
      }
      items = kept;
      const result: CorrelationResult = {
        operations: done.map((b) => b.op).sort(operationOrder),
        unattached,
        sessions: { records: sessions.records, sessions: sessions.size },
        observations: {
          read: before - items.length,
          duplicates: done.reduce((n, b) => n + b.frag.copies, 0),
        },
      };
      sessions.pruneBefore(cutoff - windows.sessionHorizon);
      return result;
    },
    finish() {
      const joiner = new Joiner(windows, sessions);
      const operations = build(joiner.run(items))
        .map((b) => b.op)
        .sort(operationOrder);
      const result: CorrelationResult = {
        operations,
        unattached: joiner.unattached,
        sessions: { records: sessions.records, sessions: sessions.size },
        observations: { read, duplicates: joiner.duplicates + copies },
      };
      items = [];
      seen = new Map();
      copies = 0;
      sessions = new SessionIndex();
      released = new Map();
      hostNames = new Map();
      read = 0;
      return result;
    },
  };
}

/** Correlate a whole set of records at once. */
export function correlate(
  records: Iterable<CanonicalRecord>,
  options: CorrelatorOptions = {},
): CorrelationResult {
  const correlator = createCorrelator(options);
  for (const record of records) correlator.add(record);
  return correlator.finish();
}

/** Levels in order of confidence, highest first. */
export const LEVELS: readonly AttributionLevel[] = [
  "exact",
  "correlated",
  "inferred",
  "ambiguous",
  "unknown",
];
