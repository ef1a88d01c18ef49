/**
 * A set of event keys received, held as sorted runs of consecutive keys (memory grows with the
 * holes, not with the keys), each run with the time and the line (input and line number) of its
 * lowest and highest key's record. A late key that fills a hole merges two runs: the hole is gone.
 * Holes are read with the time of the run above them, so a caller can count only those a late key
 * can no longer fill. Whole runs can be added too (`addRun`: the store's rows), merged the same way.
 */
import type { InputSource } from "../model/record.js";

/**
 * One run of consecutive keys. Fields, not nested objects: extending a run allocates nothing.
 * `S` names where a record was read: its input (in memory) or the input's row id (the store).
 */
export interface Run<S = InputSource> {
  lo: number;
  hi: number;
  /** Time (epoch ms) of the record of `lo` and of `hi`; undefined when it had none. */
  loMs: number | undefined;
  hiMs: number | undefined;
  /** Earliest and latest time of any key of the run (undefined: none had a time). */
  firstMs: number | undefined;
  lastMs: number | undefined;
  /** Where the records of `lo` and `hi` were read (undefined when the caller gave none). */
  loSource: S | undefined;
  loLine: number;
  hiSource: S | undefined;
  hiLine: number;
}

/** Where a key's record was read. */
export interface KeyAt {
  readonly source: InputSource;
  readonly line: number;
}

export interface KeyHole {
  readonly after: number;
  readonly before: number;
  readonly missing: number;
  readonly fromMs?: number;
  readonly toMs?: number;
  /** The records bordering the hole: the last key below it and the first above it. */
  readonly fromAt?: KeyAt;
  readonly toAt?: KeyAt;
}

/** Runs held at most: beyond, a key that would open one more run is counted, not kept. */
export const MAX_RUNS = 100_000;

const minOf = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);
const maxOf = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.max(a, b);

export interface KeyRunsOptions {
  /**
   * Two adjacent runs (one's `hi` + 1 is the other's `lo`) stay apart when the upper one's first
   * record is more than this many ms after the lower one's last: a silence inside consecutive keys
   * stays visible to whoever reads the runs back (the store). Default: always joined.
   */
  readonly splitAfterMs?: number;
  /** Runs held at most (default `MAX_RUNS`). */
  readonly maxRuns?: number;
}

export class KeyRuns {
  readonly #runs: Run[] = [];
  readonly #split: number;
  readonly #max: number;
  received = 0;
  /** Keys not kept because `MAX_RUNS` runs were held already. */
  refused = 0;

  constructor(options: KeyRunsOptions = {}) {
    this.#split = options.splitAfterMs ?? Number.POSITIVE_INFINITY;
    this.#max = options.maxRuns ?? MAX_RUNS;
  }

  get first(): number {
    return this.#runs[0]?.lo ?? 0;
  }

  get last(): number {
    return this.#runs[this.#runs.length - 1]?.hi ?? 0;
  }

  /** Runs held. */
  get size(): number {
    return this.#runs.length;
  }

  /** The runs in key order (read only: do not change them). */
  runs(): readonly Readonly<Run>[] {
    return this.#runs;
  }

  /** Removes every run (after a caller has written them elsewhere); counts stay. */
  clear(): void {
    this.#runs.length = 0;
  }

  /** Index of the first run whose `hi` is ≥ key (runs.length when none). */
  #search(key: number): number {
    const runs = this.#runs;
    let lo = 0;
    let hi = runs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (runs[mid]!.hi < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Whether a run ending at `belowMs` and the next starting at `aboveMs` may join. */
  #close(belowMs: number | undefined, aboveMs: number | undefined): boolean {
    return belowMs === undefined || aboveMs === undefined || aboveMs - belowMs <= this.#split;
  }

  /** Adds one key with its record's time and line; a key already held changes nothing. */
  add(key: number, ms: number | undefined, source?: InputSource, line = 0): void {
    const runs = this.#runs;
    const i = this.#search(key);
    const next = runs[i];
    if (next && next.lo <= key) return; // inside a run: seen before
    const prev = i > 0 ? runs[i - 1] : undefined;
    const joinsPrev = prev !== undefined && prev.hi === key - 1 && this.#close(prev.hiMs, ms);
    const joinsNext = next !== undefined && next.lo === key + 1 && this.#close(ms, next.loMs);
    if (joinsPrev && joinsNext) {
      prev.hi = next.hi;
      prev.hiMs = next.hiMs;
      prev.hiSource = next.hiSource;
      prev.hiLine = next.hiLine;
      prev.firstMs = minOf(minOf(prev.firstMs, next.firstMs), ms);
      prev.lastMs = maxOf(maxOf(prev.lastMs, next.lastMs), ms);
      runs.splice(i, 1);
    } else if (joinsPrev) {
      prev.hi = key;
      prev.hiMs = ms;
      prev.hiSource = source;
      prev.hiLine = line;
      if (ms !== undefined) {
        if (prev.firstMs === undefined || ms < prev.firstMs) prev.firstMs = ms;
        if (prev.lastMs === undefined || ms > prev.lastMs) prev.lastMs = ms;
      }
    } else if (joinsNext) {
      next.lo = key;
      next.loMs = ms;
      next.loSource = source;
      next.loLine = line;
      next.firstMs = minOf(next.firstMs, ms);
      next.lastMs = maxOf(next.lastMs, ms);
    } else {
      if (runs.length >= this.#max) {
        this.refused++;
        return;
      }
      runs.splice(i, 0, {
        lo: key,
        hi: key,
        loMs: ms,
        hiMs: ms,
        firstMs: ms,
        lastMs: ms,
        loSource: source,
        loLine: line,
        hiSource: source,
        hiLine: line,
      });
    }
    this.received++;
  }

  /**
   * Adds a whole run (`lo` ≤ `hi`): it merges with the runs it overlaps or touches, as its keys
   * one by one would (a key already held keeps the time and line it had).
   */
  addRun(run: Readonly<Run>): void {
    if (!(run.lo <= run.hi)) return;
    const runs = this.#runs;
    const i = this.#search(run.lo - 1);
    let j = i;
    let held = 0;
    while (j < runs.length && runs[j]!.lo <= run.hi + 1) {
      const r = runs[j]!;
      held += Math.max(0, Math.min(r.hi, run.hi) - Math.max(r.lo, run.lo) + 1);
      j++;
    }
    const merged = mergeRuns([...runs.slice(i, j), { ...run }], this.#split);
    if (merged.length > j - i && runs.length - (j - i) + merged.length > this.#max) {
      this.refused += run.hi - run.lo + 1 - held;
      return;
    }
    runs.splice(i, j - i, ...merged);
    this.received += run.hi - run.lo + 1 - held;
  }

  /**
   * The holes between runs, in key order, whose upper key's record is older than `settledBefore`
   * (a key without a time counts as settled). Adjacent runs (kept apart by `splitAfterMs`) are no
   * hole.
   */
  holes(settledBefore = Number.POSITIVE_INFINITY): KeyHole[] {
    const out: KeyHole[] = [];
    const runs = this.#runs;
    for (let i = 1; i < runs.length; i++) {
      const below = runs[i - 1]!;
      const above = runs[i]!;
      if (above.lo === below.hi + 1) continue;
      if (above.loMs !== undefined && above.loMs >= settledBefore) continue;
      out.push({
        after: below.hi,
        before: above.lo,
        missing: above.lo - below.hi - 1,
        ...(below.hiMs !== undefined ? { fromMs: below.hiMs } : {}),
        ...(above.loMs !== undefined ? { toMs: above.loMs } : {}),
        ...(below.hiSource ? { fromAt: { source: below.hiSource, line: below.hiLine } } : {}),
        ...(above.loSource ? { toAt: { source: above.loSource, line: above.loLine } } : {}),
      });
    }
    return out;
  }
}

/**
 * Runs merged: overlapping ones always, adjacent ones when the upper one starts no more than
 * `splitAfterMs` after the lower one ends. Where two runs share an end, the earlier in `runs`
 * keeps it (with its time and line). Returns new objects, in key order.
 */
export function mergeRuns<S>(
  runs: readonly Readonly<Run<S>>[],
  splitAfterMs = Number.POSITIVE_INFINITY,
): Run<S>[] {
  const sorted = runs.map((r, order) => ({ r, order }));
  sorted.sort((a, b) => a.r.lo - b.r.lo || a.order - b.order);
  const out: Run<S>[] = [];
  for (const { r } of sorted) {
    const cur = out[out.length - 1];
    const touches =
      cur !== undefined &&
      (r.lo <= cur.hi ||
        (r.lo === cur.hi + 1 &&
          (cur.hiMs === undefined || r.loMs === undefined || r.loMs - cur.hiMs <= splitAfterMs)));
    if (!cur || !touches) {
      out.push({ ...r });
      continue;
    }
    if (r.hi > cur.hi) {
      cur.hi = r.hi;
      cur.hiMs = r.hiMs;
      cur.hiSource = r.hiSource;
      cur.hiLine = r.hiLine;
    }
    cur.firstMs = minOf(cur.firstMs, r.firstMs);
    cur.lastMs = maxOf(cur.lastMs, r.lastMs);
  }
  return out;
}
