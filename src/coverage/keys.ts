/**
 * A set of event keys received, held as sorted runs of consecutive keys (memory grows with the
 * holes, not with the keys), each run with the time of its lowest and highest key's record. A late
 * key that fills a hole merges two runs: the hole is gone. Holes are read with the time of the run
 * above them, so a caller can count only those a late key can no longer fill.
 */

interface Run {
  lo: number;
  hi: number;
  /** Time (epoch ms) of the record of `lo` and of `hi`; undefined when it had none. */
  loMs: number | undefined;
  hiMs: number | undefined;
}

export interface KeyHole {
  readonly after: number;
  readonly before: number;
  readonly missing: number;
  readonly fromMs?: number;
  readonly toMs?: number;
}

/** Runs held at most: beyond, a key that would open one more run is counted, not kept. */
export const MAX_RUNS = 100_000;

export class KeyRuns {
  readonly #runs: Run[] = [];
  received = 0;
  /** Keys not kept because `MAX_RUNS` runs were held already. */
  refused = 0;

  get first(): number {
    return this.#runs[0]?.lo ?? 0;
  }

  get last(): number {
    return this.#runs[this.#runs.length - 1]?.hi ?? 0;
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

  /** Adds one key with its record's time; a key already held changes nothing. */
  add(key: number, ms: number | undefined): void {
    const runs = this.#runs;
    const i = this.#search(key);
    const next = runs[i];
    if (next && next.lo <= key) return; // inside a run: seen before
    const prev = i > 0 ? runs[i - 1] : undefined;
    const joinsPrev = prev !== undefined && prev.hi === key - 1;
    const joinsNext = next !== undefined && next.lo === key + 1;
    if (joinsPrev && joinsNext) {
      prev.hi = next.hi;
      prev.hiMs = next.hiMs;
      runs.splice(i, 1);
    } else if (joinsPrev) {
      prev.hi = key;
      prev.hiMs = ms;
    } else if (joinsNext) {
      next.lo = key;
      next.loMs = ms;
    } else {
      if (runs.length >= MAX_RUNS) {
        this.refused++;
        return;
      }
      runs.splice(i, 0, { lo: key, hi: key, loMs: ms, hiMs: ms });
    }
    this.received++;
  }

  /**
   * The holes between runs, in key order, whose upper key's record is older than `settledBefore`
   * (a key without a time counts as settled).
   */
  holes(settledBefore = Number.POSITIVE_INFINITY): KeyHole[] {
    const out: KeyHole[] = [];
    const runs = this.#runs;
    for (let i = 1; i < runs.length; i++) {
      const below = runs[i - 1]!;
      const above = runs[i]!;
      if (above.loMs !== undefined && above.loMs >= settledBefore) continue;
      out.push({
        after: below.hi,
        before: above.lo,
        missing: above.lo - below.hi - 1,
        ...(below.hiMs !== undefined ? { fromMs: below.hiMs } : {}),
        ...(above.loMs !== undefined ? { toMs: above.loMs } : {}),
      });
    }
    return out;
  }
}
