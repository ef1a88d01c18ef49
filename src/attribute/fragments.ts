/**
 * The correlator's internal model: an `Item` per observation, `Frag`ments of items that are one
 * call (slots, times, hosts, VM facts), their merge and the checks joins share.
 */
import { lookupMethod, methodByApi } from "../model/catalog.js";
import type { Observation, ObservationKind, SessionRecord } from "../model/record.js";
import {
  compareVm,
  hostKey,
  mergeVmFacts,
  vmFacts,
  type VmFacts,
  type VmMatch,
} from "./identity.js";
import { inputScope } from "./sessions.js";

export type Ms = number;

/** The role an observation plays in an operation; a slot holds one record (or its copies). */
export type Slot =
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

export const SLOT: ReadonlyMap<ObservationKind, Slot> = new Map<ObservationKind, Slot>([
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
export const VCENTER_SLOTS: ReadonlySet<Slot> = new Set([
  "vpxd.lro",
  "vpxd.lro-end",
  "vc.event",
  "burst",
]);

/** Observation kinds whose `user` names the principal of this very call. */
export const NAMING_SLOTS: ReadonlySet<Slot> = new Set([
  "vc.event",
  "hostd.state",
  "hostd.request",
  "hostd.event",
  "audit",
  "vpxd.lro",
  "args",
  "fault",
]);

export interface Item {
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
  /** The input hash (or path) `order` was made from: it is made again only when that changed. */
  orderBasis: string;
  /**
   * `dedupe`'s copy key (`null`: the kind has none), made on the first join: a record held over
   * several releases is joined at each, and its key never changes.
   */
  dedupeKey: string | null | undefined;
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
export const isCrowd = (alts: Alternatives | undefined): alts is Alternatives =>
  alts !== undefined && (alts.items.length > 1 || alts.crowded === true);

/**
 * One call's records so far. Every pass of every release makes a fragment per record and merges
 * most of them away, so the collections most fragments never fill (`vmInputs`, `opIds`,
 * `vcOpIds`, `alternatives`, `notes`) start as one shared empty value and get their own only
 * when something is added: `merge`, `setAlternatives` and `addNote` are the only writers.
 */
export interface Frag {
  items: Item[];
  slots: Set<Slot>;
  host: string | undefined;
  scope: string | undefined;
  vcenter: string | undefined;
  vm: VmFacts;
  readonly vmInputs: ReadonlySet<string>;
  api: string | undefined;
  /** Host-side opIDs (vmware.log, hostd, audit), lower case. */
  readonly opIds: ReadonlySet<string>;
  /** vCenter-side opIDs (vpxd), lower case. */
  readonly vcOpIds: ReadonlySet<string>;
  /** The call's start (request, state transition, LRO begin) and completion. */
  start: Ms | undefined;
  done: Ms | undefined;
  event: Ms | undefined;
  vcTime: Ms | undefined;
  /** Slots filled by a join that had several candidates, with every candidate of that join. */
  readonly alternatives: ReadonlyMap<Slot, Alternatives>;
  readonly notes: readonly string[];
  /** Records that were copies of one already in the fragment (same record read twice). */
  copies: number;
  /** Of those, the copies not kept in `items` (identical lines, or beyond the few kept). */
  unlisted: number;
  /**
   * The crowded window-join groups this fragment was part of (one token per group, shared by its
   * calls and records): a live release hands a group on whole or not at all, since a member
   * released early would be missing from the group when the rest is joined again.
   */
  crowds?: object[];
}

const START_SLOTS: ReadonlySet<Slot> = new Set([
  "vmx.request",
  "hostd.state",
  "hostd.request",
  "vpxd.lro",
  "audit",
]);

const DONE_SLOTS: ReadonlySet<Slot> = new Set(["vmx.response", "vpxd.lro-end", "hostd.event"]);

export const HOST_SIDE: ReadonlySet<Slot> = new Set([
  "vmx.request",
  "vmx.response",
  "hostd.event",
  "hostd.state",
  "hostd.request",
  "audit",
]);

export const parseTime = (iso: string | undefined): Ms | undefined => {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
};

export const sourceKey = (obs: Observation | SessionRecord): string => {
  const src = obs.prov.source;
  return `${src.path}${src.member ? `!${src.member}` : ""}`;
};

/** Canonical API of an observation: the reader's, else the catalog's reading of the spelling. */
function apiOf(obs: Observation): string | undefined {
  if (obs.api && methodByApi(obs.api)) return obs.api;
  if (obs.method) return lookupMethod(obs.method)?.api;
  return undefined;
}

export function toItem(obs: Observation): Item | undefined {
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
    orderBasis: orderBasis(obs),
    dedupeKey: undefined,
    copies: 0,
  };
}

const orderBasis = (obs: Observation): string => obs.prov.source.sha256 || obs.prov.source.path;

/**
 * Sets `item.order` from the input's hash as it is now (once the input has been read to its end;
 * the path before); only an item whose input got its hash since is keyed again.
 */
export function refreshOrder(item: Item): void {
  const basis = orderBasis(item.obs);
  if (item.orderBasis === basis) return;
  item.order = orderKey(item.obs);
  item.orderBasis = basis;
}

export const orderKey = (obs: Observation): string => {
  const src = obs.prov.source;
  return `${src.sha256 || src.path}\u0000${src.member ?? ""}\u0000${String(obs.prov.line).padStart(12, "0")}`;
};

/** `/vmfs/volumes/ds/web/vmware.log` → `web` (the VM folder) when the path is a datastore path. */
function vmDirFromLogPath(path: string): string | undefined {
  const m = /(?:^|\/)vmfs\/volumes\/[^/]+\/([^/]+)\/vmware(?:-\d+)?\.log(?:\.gz)?$/.exec(path);
  return m?.[1];
}

/** The one empty set and map every fragment starts with (never written: see `Frag`). */
const NO_STRINGS: ReadonlySet<string> = new Set();
const NO_ALTERNATIVES: ReadonlyMap<Slot, Alternatives> = new Map();
const NO_NOTES: readonly string[] = Object.freeze([]);

/** `into` with `from` added: `into` itself when it is the fragment's own set, else a new one. */
function withAll(into: ReadonlySet<string>, from: ReadonlySet<string>): ReadonlySet<string> {
  if (from.size === 0) return into;
  // every set but the shared empty one belongs to its fragment (made here or in `newFrag`)
  const out = into === NO_STRINGS ? new Set<string>() : (into as Set<string>);
  for (const v of from) out.add(v);
  return out;
}

export function newFrag(item: Item): Frag {
  const vcenterSide = VCENTER_SLOTS.has(item.slot);
  const frag: Frag = {
    items: [item],
    slots: new Set([item.slot]),
    host: item.host,
    scope: item.scope,
    vcenter: item.vcenter,
    vm: item.vm,
    vmInputs: item.vmInput ? new Set([item.vmInput]) : NO_STRINGS,
    api: item.api,
    opIds: item.opId && !vcenterSide ? new Set([item.opId]) : NO_STRINGS,
    vcOpIds: item.opId && vcenterSide ? new Set([item.opId]) : NO_STRINGS,
    start: undefined,
    done: undefined,
    event: undefined,
    vcTime: undefined,
    alternatives: NO_ALTERNATIVES,
    notes: NO_NOTES,
    copies: item.copies,
    unlisted: item.copies,
  };
  addTimes(frag, item);
  return frag;
}

/** Records that a join with several candidates filled `slot` (replacing what it said before). */
export function setAlternatives(frag: Frag, slot: Slot, alts: Alternatives): void {
  const own =
    frag.alternatives === NO_ALTERNATIVES
      ? new Map<Slot, Alternatives>()
      : (frag.alternatives as Map<Slot, Alternatives>);
  own.set(slot, alts);
  (frag as { alternatives: ReadonlyMap<Slot, Alternatives> }).alternatives = own;
}

/** Adds a note on how the fragment was built. */
export function addNote(frag: Frag, note: string): void {
  if (frag.notes === NO_NOTES) (frag as { notes: readonly string[] }).notes = [note];
  else (frag.notes as string[]).push(note);
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
export function merge(a: Frag, b: Frag): Frag {
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
  const m = a as {
    vmInputs: ReadonlySet<string>;
    opIds: ReadonlySet<string>;
    vcOpIds: ReadonlySet<string>;
  };
  m.vmInputs = withAll(a.vmInputs, b.vmInputs);
  a.api ??= b.api;
  m.opIds = withAll(a.opIds, b.opIds);
  m.vcOpIds = withAll(a.vcOpIds, b.vcOpIds);
  for (const [slot, alts] of b.alternatives) setAlternatives(a, slot, alts);
  for (const n of b.notes) if (a.notes.length < MAX_NOTES) addNote(a, n);
  a.copies += b.copies;
  a.unlisted += b.unlisted;
  if (b.crowds) a.crowds = a.crowds ? [...a.crowds, ...b.crowds] : b.crowds;
  return a;
}

/** Notes kept per operation: they describe how it was built, a few say it all. */
const MAX_NOTES = 16;

/** Copies of one record from other sources kept as evidence (the rest are only counted). */
export const MAX_KEPT_COPIES = 4;

export const apisCompatible = (a: string | undefined, b: string | undefined): boolean =>
  a === undefined || b === undefined || a === b;

export const hostsOk = (a: Frag, b: Frag): boolean =>
  a.host === undefined || b.host === undefined || a.host === b.host;

export const vcentersOk = (a: Frag, b: Frag): boolean =>
  a.vcenter === undefined || b.vcenter === undefined || a.vcenter === b.vcenter;

/** How the VMs of two fragments relate (vmware.log inputs count as one VM each). */
export function vmRelation(a: Frag, b: Frag): VmMatch {
  for (const v of a.vmInputs) if (b.vmInputs.has(v)) return "same";
  if (a.vmInputs.size && b.vmInputs.size) return "different";
  return compareVm(a.vm, b.vm);
}

/** The fragment holds a host-side record (vmware.log, hostd, audit). */
export function hasHostSide(f: Frag): boolean {
  for (const s of f.slots) if (HOST_SIDE.has(s)) return true;
  return false;
}

/** A call's host-side times (start, event, completion) as one span widened by `margin` each side. */
export function hostSideSpan(l: Frag, margin: Ms): readonly [Ms, Ms] | undefined {
  const start = l.start ?? l.event ?? l.done;
  if (start === undefined) return undefined;
  const end = Math.max(l.done ?? start, l.event ?? start);
  return [start - margin, end + margin];
}

export const slotsFree = (a: Frag, b: Frag): boolean => {
  for (const s of b.slots) if (a.slots.has(s) && !SHARED_SLOTS.has(s)) return false;
  return true;
};

export const fragTime = (f: Frag): Ms =>
  f.start ?? f.event ?? f.done ?? f.vcTime ?? f.items[0]?.t ?? Number.POSITIVE_INFINITY;

const COLLATOR = new Intl.Collator();

/**
 * `a.localeCompare(b)` of two `orderKey`s, faster: keys of one input and member differ only in
 * their zero-padded line numbers, which collate as they compare (digits of one length). Other
 * pairs go through the collator `localeCompare` uses (ECMA-402: the same comparison).
 */
export function compareOrder(a: string, b: string): number {
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

export const fragOrder = (a: Frag, b: Frag): number =>
  fragTime(a) - fragTime(b) || compareOrder(a.items[0]?.order ?? "", b.items[0]?.order ?? "");
