/**
 * Window join: each left fragment accepts right fragments whose time falls in its range; crowded
 * groups are paired in time order.
 */
import {
  addNote,
  type Frag,
  fragOrder,
  merge,
  type Ms,
  setAlternatives,
  type Slot,
} from "./fragments.js";
import type { VmMatch } from "./identity.js";

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
  if (buckets.size === 0) return [];
  const all = [...buckets.values()];
  const unknownApi = buckets.get("");
  const candidates = new Map<Frag, Frag[]>();
  const ranges = new Map<Frag, readonly [Ms, Ms]>();
  for (const l of lefts) {
    // The buckets to search: every one for a call of unknown method, else its method's and the
    // unknown method's. Most calls have one (or none): no array is made for them.
    let single: TimedBucket | undefined;
    let scan: readonly TimedBucket[] = all;
    if (l.api !== undefined) {
      const own = buckets.get(l.api);
      if (own && unknownApi) scan = [own, unknownApi];
      else if (own || unknownApi) single = own ?? unknownApi;
      else continue; // no record of its method, nor of an unknown one
    } else if (all.length === 1) single = all[0];
    const range = spec.range(l);
    if (!range) continue;
    ranges.set(l, range);
    let best = 0;
    if (single) {
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
    let list: Frag[] = [];
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
    const crowd = {};
    for (const f of [...ls, ...rs]) (f.crowds ??= []).push(crowd);
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

export function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] ?? 0) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `windowJoin` of `lefts` and `rights`, its pairs merged into `frags` (see `applyPairs`). */
export function joinInto(
  frags: Frag[],
  lefts: readonly Frag[],
  rights: readonly Frag[],
  spec: JoinSpec,
): Frag[] {
  return applyPairs(frags, windowJoin(lefts, rights, spec), spec.slot);
}

function applyPairs(frags: Frag[], pairs: readonly Pair[], slot: Slot): Frag[] {
  const consumed = new Set<Frag>();
  for (const { l, r, alternatives, balanced } of pairs) {
    // a crowded group (several calls or records) is a pairing, even for a call with one candidate
    if (alternatives) {
      setAlternatives(l, slot, {
        items: alternatives.flatMap((f) => f.items.filter((i) => i.slot === slot)),
        balanced,
        crowded: true,
      });
      addNote(
        l,
        `${slot} record paired in time order: ${alternatives.length} fitted${balanced ? "" : " (more calls than records nearby)"}`,
      );
    }
    merge(l, r);
    consumed.add(r);
  }
  return frags.filter((f) => !consumed.has(f));
}
