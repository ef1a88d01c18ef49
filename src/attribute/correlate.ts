/**
 * The joiner: turns observations from every source into one `Operation` per API call, keeping
 * every observation as evidence, and attributes each operation to a principal with a level of
 * confidence. The algorithm, its windows and its levels are described in docs/attribution.md.
 *
 * Records may arrive in any order: they are buffered (guest-operation observations and a compact
 * session index; nothing else is kept) and joined in time order when `finish()` is called.
 *
 * This file is the correlator itself; the fragments and their merge are in `fragments.ts`, the
 * join passes in `join/` (one `JoinPass` each, run in the order of `PASSES` below), the window
 * join in `window-join.ts`, attribution in `attribution.ts` and operation building in `build.ts`.
 */
import type { AttributionLevel, Operation } from "../model/operation.js";
import type { CanonicalRecord, Observation } from "../model/record.js";
import {
  attributeFrag,
  chainable,
  copyBooks,
  pruneBooks,
  recordSessions,
  sessionInUse,
  type SessionBooks,
  type SessionChain,
} from "./attribution.js";
import {
  attributed,
  groupBursts,
  type HostNames,
  learnHostNames,
  operationOrder,
  prepareOperation,
} from "./build.js";
import {
  compareOrder,
  type Frag,
  type Item,
  type Ms,
  parseTime,
  refreshOrder,
  sourceKey,
  toItem,
  VCENTER_SLOTS,
} from "./fragments.js";
import { attach } from "./join/attach.js";
import { dedupe } from "./join/dedupe.js";
import { joinAudit, joinHostdEvents } from "./join/host-records.js";
import { inputHosts, vmInputFacts } from "./join/inputs.js";
import { joinByOpId, joinLroToHost } from "./join/op-id.js";
import { pairLro, pairVmx } from "./join/pair.js";
import {
  DEFAULT_WINDOWS,
  type JoinPass,
  type JoinWindows,
  type PassContext,
  passContext,
  type UnattachedObservation,
} from "./join/pass.js";
import { joinLroByTime, joinVcenterEvents, joinVcenterEventsToLro } from "./join/vcenter.js";
import { SessionIndex } from "./sessions.js";

export { DEFAULT_WINDOWS, type JoinWindows, type UnattachedObservation } from "./join/pass.js";

export interface CorrelatorOptions {
  readonly windows?: Partial<JoinWindows>;
  /**
   * How much longer than the cut `flushBefore` holds an operation whose session may still show an
   * exact operation (one that would name its account). Default: the session-chain window plus the
   * longest join window, as batch reading does; live detection may choose less (a faster alert
   * whose account a later operation of the same session no longer improves).
   */
  readonly chainWaitMs?: number;
  /**
   * How long `flushBefore` may hold a fragment back, past its own release, while a crowded join
   * group it belongs to is not complete (`holdIncompleteCrowds`). Default `CROWD_HOLD_MS`; live
   * detection gives its chain wait (a group that keeps growing must not delay an alert for hours).
   */
  readonly crowdHoldMs?: number;
}

/**
 * The default longest hold of an incomplete crowded group: long enough for the groups a busy
 * estate chains (calls seconds apart, each with candidates of its neighbours), bounded so that a
 * group that never ends (a poller every few seconds, all day) is cut instead of held.
 */
export const CROWD_HOLD_MS = 6 * 3_600_000;

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
  /**
   * The earliest record time held (epoch ms; undefined when none is): an operation still to be
   * released starts at or after it, or at or after the next record added.
   */
  readonly pendingSince: () => Ms | undefined;
  /** Join everything added so far and return the operations. The correlator is then empty. */
  readonly finish: () => CorrelationResult;
}

/** The join passes, in the order they run: each sees what the ones before it left. */
const PASSES: readonly JoinPass[] = [
  pairVmx,
  pairLro,
  joinByOpId,
  joinHostdEvents,
  joinAudit,
  attach,
  joinLroToHost,
  joinVcenterEvents,
  joinLroByTime,
  joinVcenterEventsToLro,
  vmInputFacts,
  inputHosts,
];

/** Items in time order, copies folded (`dedupe`), then every pass of `PASSES`. */
function runPasses(items: Item[], ctx: PassContext): Frag[] {
  for (const item of items) refreshOrder(item);
  items.sort(
    (a, b) =>
      (a.t ?? Number.POSITIVE_INFINITY) - (b.t ?? Number.POSITIVE_INFINITY) ||
      compareOrder(a.order, b.order),
  );
  let frags = dedupe(items, ctx);
  for (const pass of PASSES) frags = pass.run(frags, ctx);
  return frags;
}

/**
 * The longest a record may lag behind another of the same call: live flushing holds records this
 * long, and the store's re-attribution margins are counted in it.
 */
export const longestWindow = (w: JoinWindows): Ms =>
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
 * What makes two observations one line read twice: kind, host (or input) and the exact text. The
 * text itself, not a digest of it: a key lives only while its record is held (the open window),
 * and hashing every record cost more than the map's own string hash.
 */
function copyKey(item: Item): string {
  const o = item.obs;
  const at = item.host ?? item.scope ?? item.vmInput ?? item.vcenter ?? sourceKey(o);
  return `${o.kind}\u0000${at}\u0000${o.prov.rawEncoding ?? ""}\u0000${o.prov.raw}`;
}

/**
 * Keeps back every member of a crowded join group (`Frag.crowds`) one of whose members is not
 * ready, until none is: a group released in part would be joined again without its released
 * members, and its pairing (which call took which record, and how many fitted) would change.
 * Fragments whose records all lie before `floor` go whatever their group: calls close enough to
 * chain into one group for hours (a busy poller) must not hold the release back without bound.
 */
function holdIncompleteCrowds(frags: readonly Frag[], ready: Set<Frag>, floor: Ms): void {
  const members = new Map<object, Frag[]>();
  for (const f of frags) {
    for (const c of f.crowds ?? []) {
      const list = members.get(c);
      if (list) list.push(f);
      else members.set(c, [f]);
    }
  }
  let changed = members.size > 0;
  while (changed) {
    changed = false;
    for (const list of members.values()) {
      if (list.every((f) => ready.has(f)) || !list.some((f) => ready.has(f))) continue;
      for (const f of list) {
        if ((latestOf(f) ?? Number.POSITIVE_INFINITY) >= floor && ready.delete(f)) changed = true;
      }
    }
  }
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
  /** Each held item's copy key (a digest: computed once). */
  const keys = new WeakMap<Item, string>();
  let copies = 0;

  /**
   * Builds every fragment twice when needed: a first pass names the accounts the records of each
   * call give; the session chain then lends the exact operations' accounts to the other
   * operations of their sessions (docs/attribution.md, rule 3).
   *
   * `chainSettled` (live release): a chainable operation with a record at or after it is held
   * back whatever its second pass says (that pass never makes it final, so it stays chainable),
   * so it keeps its first-pass operation: it is built again at the release that hands it on.
   */
  const build = (frags: Frag[], chainSettled?: Ms): BuiltOperation[] => {
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
    const settled = (frag: Frag): boolean => {
      if (chainSettled === undefined) return true;
      const t = latestOf(frag);
      return t !== undefined && t < chainSettled;
    };
    return first.map(({ frag, op, prepared }) =>
      chainable(frag, op) && settled(frag)
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
      if (record.type === "logging") return; // coverage's, not attribution's
      read++;
      const item = toItem(record);
      if (!item) return;
      if (VCENTER_SLOTS.has(item.slot)) sessions.noteVcenter(record.vcenter);
      sessionInUse(item, sessions);
      const key = copyKey(item);
      keys.set(item, key);
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
      const ctx = passContext(windows, sessions);
      // only fragments whose records all lie before the cut can be released now: the others are
      // joined again at a later release, and built then
      const frags = runPasses([...items], ctx);
      // An operation whose session may still show an exact operation within the session-chain
      // window (one not read yet, or one whose joins may still change) waits that long.
      const chainSettled = cutoff - (options.chainWaitMs ?? windows.sessionChain + longest);
      const built = build(
        frags.filter((f) => {
          const t = latestOf(f);
          return t !== undefined && t < cutoff;
        }),
        chainSettled,
      );
      const ready = new Set<Frag>();
      for (const { frag, op } of built) {
        const t = latestOf(frag);
        if (t !== undefined && t < cutoff && (t < chainSettled || !chainable(frag, op)))
          ready.add(frag);
      }
      holdIncompleteCrowds(frags, ready, cutoff - (options.crowdHoldMs ?? CROWD_HOLD_MS));
      const done = built.filter(({ frag }) => ready.has(frag));
      recordSessions(done, sessions, released);
      pruneBooks(released, chainSettled - windows.sessionChain - longest);
      const doneItems = new Set<Item>(done.flatMap((b) => b.frag.items));
      const unattached = ctx.unattached.filter((u) => {
        const t = parseTime(u.observation.time);
        return t !== undefined && t < cutoff;
      });
      const goneObs = new Set<Observation>(unattached.map((u) => u.observation));
      const before = items.length;
      const kept: Item[] = [];
      for (const i of items) {
        if (doneItems.has(i) || goneObs.has(i.obs)) seen.delete(keys.get(i) ?? copyKey(i));
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
      // sessions stay for the records still held, however long a crowd or a chain holds them
      let held = cutoff;
      for (const i of items) if (i.t !== undefined && i.t < held) held = i.t;
      sessions.pruneBefore(held - windows.sessionHorizon);
      return result;
    },
    pendingSince() {
      let low: Ms | undefined;
      for (const i of items) if (i.t !== undefined && (low === undefined || i.t < low)) low = i.t;
      return low;
    },
    finish() {
      const ctx = passContext(windows, sessions);
      const operations = build(runPasses(items, ctx))
        .map((b) => b.op)
        .sort(operationOrder);
      const result: CorrelationResult = {
        operations,
        unattached: ctx.unattached,
        sessions: { records: sessions.records, sessions: sessions.size },
        observations: { read, duplicates: ctx.duplicates + copies },
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
